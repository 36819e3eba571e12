package supervisor

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

// program is what drover keeps of a program beyond its proc: an update
// replaces the proc of a changed group and a daemon restart the whole
// supervisor, but the generation count (DROVER_GENERATION) and the
// listening sockets carry on, so no restart closes a socket clients
// connect to. Records are keyed by "group:name" and owned by the owner
// goroutine.
type program struct {
	gen     int             // the last generation spawned
	specs   []config.Socket // what sockets was bound from
	sockets Sockets         // nil until a spawn needs them
	// refuse is the deadline after which the sockets of a STOPPED
	// program refuse connections (refuseGrace).
	refuse timer
}

// refuseGrace is how long the sockets of a program that went STOPPED keep
// queuing connections before they refuse them: supervisorctl's restart is
// stopProcess, then startProcess (two calls), and what was queued between
// them must be served by the start. FATAL refuses at once: only a command
// starts it again.
const refuseGrace = 2 * time.Second

func programKey(p *proc) string { return p.group.name + ":" + p.cfg.Name }

func (c *core) program(p *proc) *program {
	k := programKey(p)
	pr := c.programs[k]
	if pr == nil {
		pr = &program{}
		pr.refuse = timer{idx: -1, fire: func(c *core) { c.refuseIfIdle(k, pr) }}
		c.programs[k] = pr
	}
	return pr
}

// socketsIdle is called when p entered STOPPED, EXITED or FATAL: its
// sockets will refuse connections (after refuseGrace, but for FATAL)
// instead of queuing them for nobody, unless a start comes first. The
// next spawn reopens them (listen).
func (c *core) socketsIdle(p *proc, to State) {
	pr := c.programs[programKey(p)]
	// A daemon that shuts down closes the sockets; one that restarts
	// hands them to the next supervisor, which starts the programs on
	// them: what clients queue meanwhile is served then.
	if pr == nil || pr.sockets == nil || c.state != StateRunning {
		return
	}
	if to == Fatal {
		c.timers.cancel(&pr.refuse)
		pr.sockets.Refuse()
		return
	}
	c.timers.arm(&pr.refuse, time.Now().Add(refuseGrace))
}

// refuseIfIdle refuses pr's connections if, when refuseGrace ends, its
// process is still STOPPED or FATAL, or EXITED with no restart due (an
// autorestart delayed after a short run keeps the queue), or gone.
func (c *core) refuseIfIdle(k string, pr *program) {
	if pr.sockets == nil || c.state != StateRunning {
		return
	}
	group, name, _ := strings.Cut(k, ":")
	if g := c.groups[group]; g != nil {
		if p := g.byName[name]; p != nil {
			idle := p.state == Stopped || p.state == Fatal || (p.state == Exited && !p.t.armed())
			if !idle {
				return
			}
		}
	}
	pr.sockets.Refuse()
}

// listen takes inst's listeners: p's sockets are bound on first use, and
// again when sockets= changed (the old ones close).
func (c *core) listen(inst *instance, pr *program, beside bool) error {
	want := inst.p.cfg.Drover.Sockets
	if pr.sockets != nil && !slices.Equal(pr.specs, want) {
		pr.sockets.Close()
		pr.sockets, pr.specs = nil, nil
	}
	if len(want) == 0 {
		return nil
	}
	if pr.sockets == nil {
		s, err := c.s.host.Bind(inst.p.cfg)
		if err != nil {
			return fmt.Errorf("could not bind sockets of '%s': %w", inst.p.cfg.Name, err)
		}
		pr.sockets, pr.specs = s, slices.Clone(want)
	}
	c.timers.cancel(&pr.refuse)
	pr.sockets.Reopen()
	inst.sockets = pr.sockets
	inst.listeners = pr.sockets.Listen(beside)
	return nil
}

// release drops inst's hold on its listeners once the generation is gone
// for good (or never started).
func (inst *instance) release() {
	if inst.sockets != nil {
		inst.sockets.Release(inst.listeners)
		inst.sockets, inst.listeners = nil, nil
	}
}

// childReaped releases what inst's Child held once pid, its own process,
// was reaped (a followed successor has no Child of its own).
func (inst *instance) childReaped(pid int) {
	if inst.child != nil && inst.child.Pid() == pid {
		inst.child.Exited()
	}
}

// liveChild is inst's Child when it still runs as inst's main pid (nil
// after a followed re-exec: the successor has no probe of its own).
func (inst *instance) liveChild() Child {
	if inst.child != nil && inst.child.Pid() == inst.pid && !inst.gone {
		return inst.child
	}
	return nil
}

// Handover passes the listening sockets this supervisor bound to next,
// which has not run yet, for the programs next's config still has; the
// others close, as do all of them when next is nil (the daemon exits). It
// may be called only after Run returned.
func (s *Supervisor) Handover(next *Supervisor) {
	for k, pr := range s.core.programs {
		var keep bool
		if next != nil {
			_, keep = next.core.programs[k]
		}
		if keep {
			// A pending refusal ends with this core: the next one
			// starts its programs on the sockets (a daemon restart
			// keeps what was queued meanwhile).
			pr.refuse.idx = -1
			next.core.programs[k] = pr
			continue
		}
		if pr.sockets != nil {
			pr.sockets.Close()
		}
	}
	clear(s.core.programs)
}

// noHost stands in for a missing Host: every spawn fails.
type noHost struct{}

func (noHost) Resolve(*config.Process) error { return nil }
func (noHost) Logs(p *config.Process) (Logs, error) {
	return Logs{Stdout: p.Stdout.Path, Stderr: p.Stderr.Path}, nil
}
func (noHost) Bind(*config.Process) (Sockets, error) {
	return nil, errors.New("no host to bind sockets")
}
func (noHost) Spawn(SpawnRequest) (Child, error) {
	return nil, errors.New("no host to spawn processes")
}
func (noHost) SpawnConcurrency() int                  { return 0 }
func (noHost) Signal(int, syscall.Signal, bool) error { return ErrNoProcess }
func (noHost) Successor(int, string) (int, bool)      { return 0, false }
func (noHost) DrainPool(_ string, done func())        { go done() }
func (noHost) Children(int) []int                     { return nil }
func (noHost) NewChild(int, []int, string, time.Duration) (int, bool) {
	return 0, false
}
func (noHost) WatchExit(int, func(syscall.WaitStatus)) (func(), error) { return nil, ErrNoProcess }
func (noHost) KillTree(int) error                                      { return ErrNoProcess }
func (noHost) Adopt(AdoptRequest) (Child, error) {
	return nil, errors.New("no host to adopt processes")
}
