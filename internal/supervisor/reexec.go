package supervisor

import (
	"fmt"
	"log/slog"
	"syscall"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

// reloadSignal is the signal that asks p to reload: Drover.ReloadSignal, or
// USR2 for reload = reexec (the unicorn/gunicorn convention); 0 when none.
func reloadSignal(p *config.Process) syscall.Signal {
	if p.Drover.ReloadSignal != 0 {
		return p.Drover.ReloadSignal
	}
	if p.Drover.Reload == config.ReloadReexec {
		return syscall.SIGUSR2
	}
	return 0
}

// followMsg is the result of a successor lookup for inst, whose main pid
// exited with status.
type followMsg struct {
	inst   *instance
	status syscall.WaitStatus
	pid    int
	ok     bool
	took   time.Duration
}

func (m followMsg) apply(c *core) { c.followDone(m) }

// lookForSuccessor starts a successor lookup when inst's main pid exited (on
// its own, or during a stop) and a re-exec may have happened. It reports false when the exit should take
// the normal path at once. While the lookup runs the process keeps its
// state (never a respawn while a successor may live) and exits of unknown
// pids are parked, since one of them may be the successor's.
func (c *core) lookForSuccessor(inst *instance, status syscall.WaitStatus) bool {
	p := inst.p
	if !inst.follow || inst != p.cur || inst.looking {
		return false
	}
	switch p.state {
	case Starting, Running:
		// A master that re-exec'd exits on its own once its successor is
		// up; one killed by a signal crashed, and its orphaned workers
		// (same group, re-parented to drover) are no successors.
		if !status.Exited() {
			return false
		}
	case Stopping:
		// Whatever killed it, a successor must get the stop too.
	default:
		return false
	}
	inst.looking = true
	inst.exitsAtLookup = c.exits
	c.following++
	s, pgid, hint := c.s, inst.pgid, p.cfg.Drover.Pidfile
	c.logf(slog.LevelDebug, "pid %d of '%s' exited (%s): looking for a re-exec'd successor in process group %d",
		inst.pid, p.cfg.Name, describeStatus(status), pgid)
	go func() {
		t0 := time.Now()
		pid, ok := s.host.Successor(pgid, hint)
		select {
		case s.inbox <- followMsg{inst, status, pid, ok, time.Since(t0)}:
		case <-s.done:
		}
	}()
	return true
}

// followDone takes a lookup result: adopt the successor as the new main pid
// of the same generation, or let the exit take the normal path.
func (c *core) followDone(m followMsg) {
	inst, p := m.inst, m.inst.p
	c.following--
	inst.looking = false
	defer c.flushParked()
	c.dirty = true
	if !m.ok || m.pid <= 0 || c.pids[m.pid] != nil {
		c.logf(slog.LevelDebug, "no re-exec'd successor of '%s' (pid %d)", p.cfg.Name, inst.pid)
		c.handle(p, event{kind: evExit, inst: inst, status: m.status})
		return
	}
	old := inst.pid
	inst.prevPid = old
	inst.pid = m.pid
	inst.reexecs++
	c.pids[m.pid] = inst
	c.logf(slog.LevelInfo, "following re-exec of '%s': pid %d → %d", p.cfg.Name, old, m.pid)
	c.s.bus.publish(Event{Kind: EventPidChanged, Time: time.Now(), Group: p.group.name, Name: p.cfg.Name, Pid: m.pid})
	c.logf(slog.LevelDebug, "successor lookup for '%s' took %v", p.cfg.Name, m.took)
	if pe, parked := c.parked[m.pid]; parked && pe.seq > inst.exitsAtLookup {
		// The successor died before the lookup result came back.
		delete(c.parked, m.pid)
		delete(c.pids, m.pid)
		if !c.lookForSuccessor(inst, pe.status) {
			c.handle(p, event{kind: evExit, inst: inst, status: pe.status})
		}
		return
	}
	if p.state == Stopping {
		// A stop came while the successor was looked for: it is for the
		// program, so the successor gets it.
		_ = c.kill(p, p.cfg.StopSignal, p.cfg.StopAsGroup, false)
	}
}

// lookingInfo is the detail of a fault for a request that meets a process
// between pids.
func lookingInfo(p *proc) string {
	return fmt.Sprintf("%s is between pids (its master exited; looking for the re-exec'd successor)", namespec(p))
}
