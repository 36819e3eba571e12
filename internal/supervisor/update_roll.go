package supervisor

import (
	"context"
	"slices"

	"github.com/drover-sh/drover/internal/config"
)

// A changed group whose processes all serve blue/green on drover's sockets
// is not stopped by an update: each of its processes is handed off, one at
// a time in start order, to a new generation spawned from the new config
// (Process.HandsOffTo says which changes that can carry). A new generation
// that is not ready stops the roll; the processes not handed off keep
// serving with their previous config, and say so (Info.Pending) until an
// update succeeds.

// roll is one changed group an update hands off instead of restarting.
type roll struct {
	old   *group // owner goroutine only
	ng    *config.Group
	specs []string          // the processes' namespecs, in start order
	to    []*config.Process // each one's new config
	same  []bool            // the new config equals the running one
}

// takeRolls moves the changed groups that can be handed off out of d.
func (c *core) takeRolls(d *diff) []roll {
	var rolls []roll
	for i := 0; i < len(d.changed); i++ {
		old, ng := d.changedOld[i], d.changed[i]
		r, ok := c.rollOf(old, ng)
		if !ok {
			continue
		}
		rolls = append(rolls, r)
		d.changed = slices.Delete(d.changed, i, i+1)
		d.changedOld = slices.Delete(d.changedOld, i, i+1)
		i--
	}
	return rolls
}

// rollOf plans the hand-off of old to ng: the same kind and process names,
// every process RUNNING with nothing else under way, and each new config
// one its running generation can hand off to.
func (c *core) rollOf(old *group, ng *config.Group) (roll, bool) {
	r := roll{old: old, ng: ng}
	kind := old.cfg.Kind
	if (kind != config.KindProgram && kind != config.KindGroup) || ng.Kind != kind || len(ng.Processes) != len(old.procs) {
		return r, false
	}
	for _, p := range old.procs {
		i := slices.IndexFunc(ng.Processes, func(q *config.Process) bool { return q != nil && q.Name == p.cfg.Name })
		if i < 0 || p.state != Running || p.reload != nil || p.handoff != nil || !p.cfg.HandsOffTo(ng.Processes[i]) {
			return r, false
		}
		r.specs = append(r.specs, namespec(p))
		r.to = append(r.to, ng.Processes[i])
		r.same = append(r.same, p.cfg.Equal(ng.Processes[i]))
	}
	return r, true
}

// runRolls hands off each planned group (see the comment at the top): the
// groups that now run their new config go to u.Changed and u.HandedOff, the
// others to u.Failed. The error is ctx's, or the owner's.
func (s *Supervisor) runRolls(ctx context.Context, rolls []roll, u *UpdateResult) error {
	for _, r := range rolls {
		var failed error
		for i, spec := range r.specs {
			if r.same[i] {
				continue
			}
			if failed != nil {
				why := "not handed off: " + detailOf(failed)
				s.post(func(c *core) { c.markPending(spec, why) })
				continue
			}
			if err := s.reload(ctx, spec, r.to[i]); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				failed = err
			}
		}
		done, err := call(s, context.WithoutCancel(ctx), func(c *core, _ *waiter, reply chan<- res[bool]) {
			reply <- res[bool]{v: c.commitRoll(r)}
		})
		switch {
		case err != nil:
			return err
		case done:
			u.Changed = append(u.Changed, r.ng.Name)
			u.HandedOff = append(u.HandedOff, r.ng.Name)
		default:
			why := "the new config is not applied to every process; the previous config keeps serving"
			if failed != nil {
				why = "the new config is not applied: " + detailOf(failed)
			}
			u.Failed = append(u.Failed, Result{Name: r.ng.Name, Group: r.ng.Name, Status: CodeFailed, Description: why})
		}
	}
	return nil
}

// settlePending clears the pending note of the processes in groups the
// update leaves as they are (those named, or all): the file says again what
// they run, as after a failed update reverted.
func (c *core) settlePending(d diff, names []string) {
	for _, g := range c.order {
		if (len(names) > 0 && !slices.Contains(names, g.name)) || slices.Contains(d.changedOld, g) || slices.Contains(d.removed, g) {
			continue
		}
		for _, p := range g.procs {
			p.pending = ""
		}
	}
}

// markPending records on spec's process why it still runs its old config.
func (c *core) markPending(spec, why string) {
	if p, err := c.lookup(spec); err == nil {
		p.pending = why
	}
}

// commitRoll makes ng old's config once every process of old runs its new
// config (the group is still the active one): reread then reports it
// unchanged. Otherwise old keeps its config, so reread reports the group
// changed and the next update hands off again.
func (c *core) commitRoll(r roll) bool {
	if c.groups[r.old.name] != r.old {
		return false
	}
	for i, spec := range r.specs {
		p, err := c.lookup(spec)
		if err != nil || (p.cfg != r.to[i] && !p.cfg.Equal(r.to[i])) {
			return false
		}
	}
	g := r.old
	for i, spec := range r.specs {
		p, _ := c.lookup(spec)
		p.cfg = r.to[i]
	}
	g.cfg = r.ng
	sortProcs(g.procs)
	c.place(g)
	c.dirty = true
	return true
}
