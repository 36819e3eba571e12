package supervisor

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"

	"github.com/drover-sh/drover/internal/config"
)

// Runtime scaling (drover scale): a numprocs program gets another count of
// processes without touching the ones that stay. New processes start
// through the normal start path (so a ready= gate holds them in STARTING
// until ready); removed ones stop gracefully one at a time, highest
// process_num first, and leave the group with their sockets.

// scaleOp is one scaling of one group, run by a waiter until done.
type scaleOp struct {
	g        *group
	ng       *config.Group // the target config: g.cfg once done
	removing []*proc       // highest process_num first; [0] is being stopped
	added    []*proc
	results  []Result
	// pending are the added processes still starting, slot their result
	// indexes.
	pending []*proc
	slot    []int
	wait    bool // added ones are done when RUNNING (else once spawned)
}

// scaleOf checks that ng is g's config with only program's processes
// added or removed, and returns the processes to add and remove; an error
// when anything else differs (the file changed since it was applied).
func scaleOf(g *group, ng *config.Group, program string) (add []*config.Process, remove []*proc, err error) {
	scalable := func(k config.GroupKind) bool { return k == config.KindProgram || k == config.KindGroup }
	if !scalable(ng.Kind) || !scalable(g.cfg.Kind) {
		return nil, nil, fault(CodeBadArguments, "only a [program:x] can be scaled (not an event listener or fcgi pool)")
	}
	if ng.Kind != g.cfg.Kind {
		return nil, nil, fault(CodeFailed, fmt.Sprintf("the config file moved '%s' to another group: apply it with update first", program))
	}
	changed := func() error {
		return fault(CodeFailed, fmt.Sprintf("the config file's group '%s' differs from the running one in more than the number of processes: apply it with update first", g.name))
	}
	if ng.Priority != g.cfg.Priority {
		return nil, nil, changed()
	}
	want := make(map[string]*config.Process, len(ng.Processes))
	for _, pc := range ng.Processes {
		want[pc.Name] = pc
		if g.byName[pc.Name] == nil {
			if pc.Program != program {
				return nil, nil, changed()
			}
			add = append(add, pc)
		}
	}
	for _, p := range g.procs {
		pc := want[p.cfg.Name]
		switch {
		case pc == nil && p.cfg.Program != program:
			return nil, nil, changed()
		case pc == nil:
			remove = append(remove, p)
		case !pc.Equal(p.cfg):
			return nil, nil, changed()
		}
	}
	slices.SortFunc(add, func(a, b *config.Process) int { return cmp.Compare(a.ProcessNum, b.ProcessNum) })
	slices.SortFunc(remove, func(a, b *proc) int { return cmp.Compare(b.cfg.ProcessNum, a.cfg.ProcessNum) })
	return add, remove, nil
}

// beginScale adds and starts the new processes of op's group and stops
// the first one to remove; step does the rest.
func (c *core) beginScale(g *group, ng *config.Group, add []*config.Process, remove []*proc, wait bool) *scaleOp {
	op := &scaleOp{g: g, ng: ng, removing: remove, wait: wait}
	for _, pc := range add {
		p := c.newProc(g, pc)
		g.procs = append(g.procs, p)
		g.byName[pc.Name] = p
		op.added = append(op.added, p)
	}
	sortProcs(g.procs)
	g.cfg = groupWith(ng, g)
	for _, p := range op.added {
		if !p.cfg.Autostart {
			op.results = append(op.results, okResult(p))
			continue
		}
		if err := c.startOne(p); err != nil {
			op.results = append(op.results, errResult(p, err))
			continue
		}
		op.pending = append(op.pending, p)
		op.slot = append(op.slot, len(op.results))
		op.results = append(op.results, Result{})
	}
	if len(remove) > 0 {
		c.stopForScale(remove[0])
	}
	return op
}

// stopForScale stops p unless it is already stopped; a stop that fails
// (the kill failed) leaves p to its exit.
func (c *core) stopForScale(p *proc) {
	if p.state.IsRunning() || (p.state == Exited && p.t.armed()) {
		if err := c.stopOne(p); err != nil {
			c.logf(slog.LevelWarn, "scale: could not stop '%s': %v", p.cfg.Name, err)
		}
	}
}

// step advances op; it reports true when every added process has its
// start outcome and every removed one is gone.
func (c *core) step(op *scaleOp) bool {
	for len(op.removing) > 0 {
		p := op.removing[0]
		if !p.state.IsStopped() || p.cur != nil || p.handoff != nil {
			break
		}
		c.dropProc(op.g, p)
		op.results = append(op.results, Result{Name: p.cfg.Name, Group: op.g.name, Status: CodeSuccess, Description: "removed"})
		op.removing = op.removing[1:]
		op.g.cfg = groupWith(op.ng, op.g)
		if len(op.removing) > 0 {
			c.stopForScale(op.removing[0])
		}
	}
	done := len(op.removing) == 0
	for i, p := range op.pending {
		if p == nil {
			continue
		}
		ok, err := startOutcome(p, op.wait)
		switch {
		case !ok:
			done = false
			continue
		case err != nil:
			op.results[op.slot[i]] = errResult(p, err)
		default:
			op.results[op.slot[i]] = okResult(p)
		}
		op.pending[i] = nil
	}
	return done
}

// newProc makes the proc of pc in g: its logs opened, its program record
// made.
func (c *core) newProc(g *group, pc *config.Process) *proc {
	p := &proc{cfg: pc, group: g}
	p.t = timer{idx: -1, fire: func(c *core) { c.handle(p, event{kind: evTimer}) }}
	var err error
	if p.logs, err = c.s.host.Logs(pc); err != nil {
		c.log.Error(fmt.Sprintf("could not create AUTO log for '%s': %v", pc.Name, err))
	}
	c.program(p)
	return p
}

// dropProc removes a stopped p from g for good: its sockets close.
func (c *core) dropProc(g *group, p *proc) {
	c.timers.cancel(&p.t)
	delete(g.byName, p.cfg.Name)
	g.procs = slices.DeleteFunc(g.procs, func(x *proc) bool { return x == p })
	k := programKey(p)
	if pr := c.programs[k]; pr != nil {
		c.timers.cancel(&pr.refuse)
		if pr.sockets != nil {
			pr.sockets.Close()
		}
		delete(c.programs, k)
	}
}

// groupWith is ng with g's processes now (scaling in progress).
func groupWith(ng *config.Group, g *group) *config.Group {
	out := *ng
	out.Processes = make([]*config.Process, len(g.procs))
	for i, p := range g.procs {
		out.Processes[i] = p.cfg
	}
	return &out
}

// Scale brings the processes of program in ng's group to ng's (the config
// file read again with another numprocs for program): the processes to add
// are added and started (autostart ones; the reply waits for RUNNING, as
// startProcess with wait), the ones to remove are stopped one at a time,
// highest process_num first, and removed. The others are not touched. The
// result has one entry per process added or removed. The group counts as
// scaled: the next update that finds only its count changed scales it back
// to the file's numprocs the same way (scaledBack).
func (s *Supervisor) Scale(ctx context.Context, ng *config.Group, program string) ([]Result, error) {
	if ng == nil {
		return nil, fault(CodeBadName, program)
	}
	for _, pc := range ng.Processes {
		if pc.Program == program {
			if err := s.host.Resolve(pc); err != nil {
				return nil, resolveFault(err)
			}
		}
	}
	return call(s, ctx, func(c *core, w *waiter, reply chan<- res[[]Result]) {
		if err := c.checkRunning(); err != nil {
			reply <- res[[]Result]{err: err}
			return
		}
		g := c.groups[ng.Name]
		if g == nil {
			reply <- res[[]Result]{err: fault(CodeBadName, program)}
			return
		}
		if err := c.scaleBusy(g); err != nil {
			reply <- res[[]Result]{err: err}
			return
		}
		add, remove, err := scaleOf(g, ng, program)
		if err != nil {
			reply <- res[[]Result]{err: err}
			return
		}
		g.scaled = true
		g.scaling = c.beginScale(g, ng, add, remove, true)
		c.addWaiter(w, func(c *core) bool {
			if c.state != StateRunning {
				g.scaling = nil
				reply <- res[[]Result]{err: fault(CodeShutdownState, "")}
				return true
			}
			if !c.step(g.scaling) {
				return false
			}
			op := g.scaling
			g.scaling = nil
			reply <- res[[]Result]{v: op.results}
			return true
		})
	})
}

// scaleBusy refuses a scale of g while one runs or a process of g is being
// reloaded.
func (c *core) scaleBusy(g *group) error {
	if g.scaling != nil {
		return fault(CodeFailed, fmt.Sprintf("group '%s' is being scaled", g.name))
	}
	for _, p := range g.procs {
		if p.reload != nil || p.handoff != nil {
			return fault(CodeFailed, fmt.Sprintf("'%s' is being reloaded", namespec(p)))
		}
	}
	return nil
}

// scaledBack takes, out of an update's changed groups, those that were
// scaled at runtime and whose new config differs only in the number of
// processes of one program: the update scales them to the file's count
// (the file wins) instead of replacing them.
func (c *core) scaledBack(d *diff) []*scaleOp {
	var ops []*scaleOp
	keepNew, keepOld := d.changed[:0], d.changedOld[:0]
	for i, ng := range d.changed {
		old := d.changedOld[i]
		if op := c.scaleBackOne(old, ng); op != nil {
			ops = append(ops, op)
			continue
		}
		keepNew, keepOld = append(keepNew, ng), append(keepOld, old)
	}
	d.changed, d.changedOld = keepNew, keepOld
	return ops
}

func (c *core) scaleBackOne(g *group, ng *config.Group) *scaleOp {
	if !g.scaled || c.scaleBusy(g) != nil {
		return nil
	}
	var program string
	for _, p := range g.procs {
		program = p.cfg.Program
	}
	for _, pc := range ng.Processes {
		program = pc.Program
	}
	add, remove, err := scaleOf(g, ng, program)
	if err != nil {
		return nil
	}
	g.scaled = false
	g.scaling = c.beginScale(g, ng, add, remove, false)
	return g.scaling
}
