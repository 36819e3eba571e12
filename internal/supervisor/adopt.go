package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"syscall"
	"time"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/reload"
)

// ProcRecord is one process as an in-place upgrade hands it from one
// supervisor (Freeze) to the next (Adopt), across execve: its state, and
// for a live generation its pid. Everything else a process has (its
// config, its log files) is rebuilt from the config.
type ProcRecord struct {
	Group string `json:"group"`
	Name  string `json:"name"`
	// State is RUNNING for a live generation, else STOPPED, EXITED or
	// FATAL (Freeze hands over nothing in between).
	State      State     `json:"state"`
	Pid        int       `json:"pid,omitempty"`
	Pgid       int       `json:"pgid,omitempty"`
	Reexecs    int       `json:"reexecs,omitempty"`
	PrevPid    int       `json:"prev_pid,omitempty"`
	Generation int       `json:"generation"` // the program's last generation
	LastStart  time.Time `json:"last_start"`
	LastStop   time.Time `json:"last_stop"`
	SpawnedAt  time.Time `json:"spawned_at"`
	ExitStatus int       `json:"exit_status"`
	SpawnErr   string    `json:"spawn_err,omitempty"`
	// Logs are where its output goes (AUTO names kept across the upgrade).
	Logs Logs `json:"logs"`

	// Child and Sockets are the frozen supervisor's (nil when none): the
	// daemon takes the fds it hands over from them. Adopt ignores them.
	Child   Child   `json:"-"`
	Sockets Sockets `json:"-"`
}

// AdoptRequest is one live generation a new supervisor takes over instead
// of spawning it.
type AdoptRequest struct {
	Process    *config.Process
	Logs       Logs
	Group      string
	Name       string
	Pid        int
	Generation int
	// Listeners are the program's sockets (Sockets.Listen; nil for none),
	// which the generation already has.
	Listeners *reload.Set
}

// ErrNotSettled is what Freeze wraps when a process is between states.
var ErrNotSettled = errors.New("processes are changing state")

// Freeze waits until every process is settled (RUNNING, STOPPED, EXITED
// with no restart due, or FATAL; no spawn, stop, reload or hand-off in
// flight), or ctx ends, then returns the records of every process and
// stops the owner goroutine: nothing changes in the table until resume is
// called (an upgrade that did not happen). The caller stops the exits
// first (the reaper), so none is pending while frozen.
func (s *Supervisor) Freeze(ctx context.Context) (recs []ProcRecord, resume func(), err error) {
	release := make(chan struct{})
	recs, err = call(s, ctx, func(c *core, w *waiter, reply chan<- res[[]ProcRecord]) {
		if c.state != StateRunning {
			reply <- res[[]ProcRecord]{err: fault(CodeShutdownState, "")}
			return
		}
		c.addWaiter(w, func(c *core) bool {
			if c.unsettled() != "" {
				return false
			}
			reply <- res[[]ProcRecord]{v: c.records()}
			<-release // the owner goroutine waits here: the table stays as recorded
			return true
		})
	})
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		why, _ := call(s, context.Background(), func(c *core, _ *waiter, reply chan<- res[string]) {
			reply <- res[string]{v: c.unsettled()}
		})
		return nil, nil, fmt.Errorf("%w: %s", ErrNotSettled, why)
	}
	if err != nil {
		return nil, nil, err
	}
	var once bool
	return recs, func() {
		if !once {
			once = true
			close(release)
		}
	}, nil
}

// unsettled says which process is between states ("" when none is).
func (c *core) unsettled() string {
	if c.inflight > 0 || c.following > 0 {
		return "a spawn or a re-exec lookup is in flight"
	}
	var why []string
	for _, g := range c.order {
		for _, p := range g.procs {
			switch {
			case p.reload != nil || p.handoff != nil:
				why = append(why, p.cfg.Name+" is reloading")
			case p.state == Starting || p.state == Stopping || p.state == Backoff || p.state == Unknown:
				why = append(why, p.cfg.Name+" is "+p.state.String())
			case p.state == Exited && p.t.armed():
				why = append(why, p.cfg.Name+" has a restart due")
			case p.cur != nil && p.cur.looking:
				why = append(why, p.cfg.Name+" is being followed")
			}
		}
	}
	return strings.Join(why, ", ")
}

// Records describes every process as it is now, for the daemon's state
// file (crash survival): like Freeze's records, and a STARTING process's
// pid too (it runs). Sockets are left out; Child is there for a RUNNING
// process (the daemon reads only what never changes in it).
func (s *Supervisor) Records(ctx context.Context) ([]ProcRecord, error) {
	return call(s, ctx, func(c *core, _ *waiter, reply chan<- res[[]ProcRecord]) {
		recs := c.records()
		for i := range recs {
			r := &recs[i]
			r.Sockets = nil
			if g := c.groups[r.Group]; g != nil && r.State == Starting {
				if p := g.byName[r.Name]; p != nil && p.cur != nil && p.cur.pid > 0 && !p.cur.looking {
					r.Pid, r.Pgid, r.SpawnedAt = p.cur.pid, p.cur.pgid, p.cur.spawnedAt
				}
			}
		}
		reply <- res[[]ProcRecord]{v: recs}
	})
}

// StatusUnknown is the exit status of a taken-over process that was not
// drover's child (after a crash of drover it was re-parented): its exit
// was seen, how it ended is unknown. It counts as an unexpected exit.
const StatusUnknown = syscall.WaitStatus(0x7f7f7f7f)

// records describes every process (owner goroutine). A Freeze's records
// are settled (no STARTING); the state file's may have STARTING ones with
// their pid, which a recovery takes over as RUNNING.
func (c *core) records() []ProcRecord {
	out := make([]ProcRecord, 0, len(c.programs))
	for _, g := range c.order {
		for _, p := range g.procs {
			pr := c.programs[programKey(p)]
			r := ProcRecord{
				Group: g.name, Name: p.cfg.Name, State: p.state,
				LastStart: p.laststart, LastStop: p.laststop, ExitStatus: p.exitstatus, SpawnErr: p.spawnerr,
				Logs: p.logs,
			}
			if pr != nil {
				r.Generation, r.Sockets = pr.gen, pr.sockets
			}
			// A STARTING pid counts too: a daemon that crashes in a
			// process's startsecs must find it, not start a second copy.
			if inst := p.cur; inst != nil && (p.state == Running || p.state == Starting) {
				r.Pid, r.Pgid, r.Reexecs, r.PrevPid = inst.pid, inst.pgid, inst.reexecs, inst.prevPid
				r.SpawnedAt, r.Child = inst.spawnedAt, inst.child
			}
			out = append(out, r)
		}
	}
	return out
}

// Adopt makes Run take over recs (a Freeze's, from the image before an
// in-place upgrade) instead of starting from scratch: a RUNNING record
// becomes a live generation through Host.Adopt (same pid, no spawn, no
// readiness wait), a stopped one keeps its state (so autostart does not
// start a program that was stopped), and every program keeps its
// generation count. A record whose program is no longer in the config is
// killed (its tree); one whose Adopt fails is killed and started again, so
// there is never a second copy. Call it before Run.
func (s *Supervisor) Adopt(recs []ProcRecord) {
	s.core.adopt = recs
}

// adoptAll applies the records given to Adopt (startup, before autostart).
func (c *core) adoptAll() {
	recs := c.adopt
	c.adopt = nil
	for _, r := range recs {
		g := c.groups[r.Group]
		var p *proc
		if g != nil {
			p = g.byName[r.Name]
		}
		if p == nil {
			if r.State == Running && r.Pid > 0 {
				c.logf(slog.LevelWarn, "handed over: %s:%s (pid %d) is no longer in the config: killing it", r.Group, r.Name, r.Pid)
				_ = c.s.host.KillTree(r.Pid)
			}
			continue
		}
		c.adoptOne(p, r)
	}
}

func (c *core) adoptOne(p *proc, r ProcRecord) {
	pr := c.program(p)
	pr.gen = r.Generation
	p.laststart, p.laststop, p.exitstatus, p.spawnerr = r.LastStart, r.LastStop, r.ExitStatus, r.SpawnErr
	if r.State != Running || r.Pid <= 0 {
		if r.State.IsStopped() {
			p.state = r.State
		}
		return
	}
	c.gen++
	inst := &instance{p: p, cfg: p.cfg, gen: c.gen, pid: r.Pid, pgid: r.Pgid, spawnedAt: r.SpawnedAt,
		reexecs: r.Reexecs, prevPid: r.PrevPid, exitsAtSpawn: c.exits}
	if inst.pgid == 0 {
		inst.pgid = r.Pid
	}
	inst.follow = false
	p.cur = inst
	c.pids[r.Pid] = inst
	p.state = Running
	c.watchLimits(p)
	c.watchHealth(p) // what entering RUNNING arms (change), without its event
	var err error
	if len(p.cfg.Drover.Sockets) > 0 {
		err = c.listen(inst, pr, false)
	}
	if err == nil {
		inst.child, err = c.s.host.Adopt(AdoptRequest{
			Process: p.cfg, Logs: p.logs, Group: p.group.name, Name: p.cfg.Name, Pid: r.Pid, Generation: r.Generation, Listeners: inst.listeners,
		})
	}
	if err != nil {
		// Its output cannot be captured: stop it for good and start it
		// afresh (its exit, reaped or watched, ends this generation).
		c.logf(slog.LevelWarn, "could not take over %s (pid %d): %v; restarting it", p.cfg.Name, r.Pid, err)
		inst.respawn = true
		c.timers.arm(&p.t, time.Now().Add(p.cfg.StopWait))
		c.change(p, Stopping, r.Pid, true)
		if kerr := c.s.host.KillTree(r.Pid); kerr != nil && !isNoProcess(kerr) {
			c.logf(slog.LevelWarn, "could not kill %s (pid %d): %v", p.cfg.Name, r.Pid, kerr)
		}
		return
	}
	c.logf(slog.LevelInfo, "took over: '%s' with pid %d (generation %d)", p.cfg.Name, r.Pid, r.Generation)
}
