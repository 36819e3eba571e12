package supervisor

import (
	"fmt"
	"log/slog"
	"slices"
	"syscall"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

// successorSearch bounds the search for the new master of a reexec reload
// after the signal (Host.NewChild): a server forks it within milliseconds
// of handling the signal. Without one in that time the reload waits for
// the old master's exit as before, up to ready_timeout.
const successorSearch = time.Second

// deliver runs f on the owner goroutine; from a host goroutine (a watch).
func (s *Supervisor) deliver(f func(c *core)) {
	select {
	case s.inbox <- reqFunc(f):
	case <-s.done:
	}
}

// successorResearches bounds how many times a search is taken up again
// after a found child exited 0 before taking over (successorExited).
const successorResearches = 3

// searchSuccessor looks, on a worker goroutine, for the child the old
// master (pid) forks after a reexec reload's signal, and watches its exit
// once found: the new master is the old one's child, which reaps it, so
// drover gets no wait status of its own for it.
func (c *core) searchSuccessor(rec *reloadRec, pid int, before []int) {
	rec.before = before
	s, hint := c.s, rec.p.cfg.Drover.Pidfile
	go func() {
		succ, ok := s.host.NewChild(pid, before, hint, successorSearch)
		if !ok {
			return
		}
		s.deliver(func(c *core) { c.successorFound(rec, succ) })
	}()
}

// successorFound takes the new master of a reexec reload: shown as
// HandoffPid while the reload is pending, watched until it exits.
func (c *core) successorFound(rec *reloadRec, pid int) {
	p := rec.p
	if rec.done1 || p.reload != rec || p.cur != rec.inst || rec.successor != 0 {
		return
	}
	rec.successor = pid
	c.dirty = true
	c.logf(slog.LevelInfo, "reload of '%s': new master pid %d (forked by pid %d)", p.cfg.Name, pid, rec.inst.pid)
	c.reloadStep(rec, ReloadSpawned, pid, nil)
	stop, err := c.s.host.WatchExit(pid, func(ws syscall.WaitStatus) {
		c.s.deliver(func(c *core) { c.successorExited(rec, pid, ws) })
	})
	if err != nil {
		if isNoProcess(err) {
			c.successorExited(rec, pid, StatusUnknown)
			return
		}
		c.logf(slog.LevelWarn, "reload of '%s': cannot watch the new master pid %d: %v", p.cfg.Name, pid, err)
		return
	}
	rec.stops = append(rec.stops, stop)
}

// successorExited fails a reexec reload whose new master exited before it
// took over; the old master, which forked and reaped it, keeps serving.
// Once adopted (or while the old master's own exit is being followed) its
// exit is drover's to reap and takes the normal path.
func (c *core) successorExited(rec *reloadRec, pid int, ws syscall.WaitStatus) {
	inst := rec.inst
	if rec.done1 || rec.p.reload != rec || inst.pid == pid || inst.looking || rec.p.cur != inst {
		return
	}
	rec.successor = 0
	// A child that exits 0 before taking over was no new master that
	// failed but a short-lived program the old master ran (the host's
	// search already passes over children that never exec, such as the
	// one Go's runtime forks to probe clone(CLONE_PIDFD)). The search goes
	// on, for the new master that may be forked meanwhile.
	if ws != StatusUnknown && ws.Exited() && ws.ExitStatus() == 0 && rec.researches < successorResearches {
		rec.researches++
		c.dirty = true
		c.logf(slog.LevelInfo, "reload of '%s': pid %d exited 0 before taking over, so it was not the new master; looking again", rec.p.cfg.Name, pid)
		c.searchSuccessor(rec, inst.pid, append(slices.Clone(rec.before), pid))
		return
	}
	how := "its exit status went to the old master, which reaped it: see the program's log"
	if ws != StatusUnknown {
		how = describeStatus(ws)
	}
	c.finishPhase1(rec, fault(CodeFailed, fmt.Sprintf(
		"%s: the new master pid %d exited before taking over (%s); the old master pid %d keeps serving",
		namespec(rec.p), pid, how, inst.pid)))
}

// successorTimeout ends a reexec reload at ready_timeout: a new master that
// is alive but never took over (its app fails, its workers crash-loop) is
// killed with its workers, so that it cannot take over later, and the old
// master keeps serving.
func (c *core) successorTimeout(rec *reloadRec) {
	p, to := rec.p, readyTimeout(rec.p.cfg.Drover.ReadyTimeout)
	succ := rec.successor
	if succ == 0 || rec.inst.looking {
		c.finishPhase1(rec, fault(CodeFailed, fmt.Sprintf(
			"%s: no re-exec'd successor within %v (the old master still runs; does its config stop the old master once the new one is up?)",
			namespec(p), to)))
		return
	}
	rec.successor = 0
	what := "killed it and its workers"
	if err := c.s.host.KillTree(succ); err != nil {
		what = fmt.Sprintf("could not kill it: %v", err)
	}
	c.finishPhase1(rec, fault(CodeFailed, fmt.Sprintf(
		"%s: the new master pid %d did not take over within %v (%s); the old master pid %d keeps serving",
		namespec(p), succ, to, what, rec.inst.pid)))
}

// watchWorkers makes a reload = signal of a pre-fork server (its master
// had children before the signal) finish only when every one of those
// workers exited, or fail at ready_timeout naming the ones still there.
// Readiness is then waited for as for any signal reload.
func (c *core) watchWorkers(p *proc, rec *reloadRec, inst *instance, workers []int) {
	rec.workers = map[int]bool{}
	for _, w := range workers {
		rec.workers[w] = true
	}
	for _, w := range workers {
		stop, err := c.s.host.WatchExit(w, func(syscall.WaitStatus) {
			c.s.deliver(func(c *core) { c.workerExited(rec, w) })
		})
		if err != nil {
			if !isNoProcess(err) {
				c.logf(slog.LevelWarn, "reload of '%s': cannot watch worker pid %d: %v", p.cfg.Name, w, err)
			}
			delete(rec.workers, w) // gone, or unknowable: not waited for
			continue
		}
		rec.stops = append(rec.stops, stop)
	}
	to := readyTimeout(p.cfg.Drover.ReadyTimeout)
	rec.t.fire = func(c *core) {
		left := make([]int, 0, len(rec.workers))
		for w := range rec.workers {
			left = append(left, w)
		}
		slices.Sort(left)
		c.finishPhase1(rec, fault(CodeFailed, fmt.Sprintf(
			"%s: %d of the %d workers present before %s were not replaced within %v (pids %v still run); the master pid %d keeps serving",
			namespec(p), len(left), len(workers), signame(reloadSignal(p.cfg)), to, left, inst.pid)))
	}
	c.timers.arm(&rec.t, time.Now().Add(to))
	c.addWaiter(&rec.w, func(c *core) bool {
		switch {
		case rec.done1:
		case p.cur != inst || (p.state != Running && p.state != Starting):
			how := rec.lost
			if how == "" {
				how = "now " + p.state.String()
			}
			c.finishPhase1(rec, fault(CodeFailed, fmt.Sprintf("%s: the master exited during the reload (%s)", namespec(p), how)))
		case len(rec.workers) == 0:
			c.logf(slog.LevelInfo, "reload of '%s': the %d workers present before the signal were replaced", p.cfg.Name, len(workers))
			rec.pid, rec.child = inst.pid, inst.liveChild()
			c.finishPhase1(rec, nil)
		default:
			return false
		}
		return true
	})
}

func (c *core) workerExited(rec *reloadRec, pid int) {
	if rec.done1 || !rec.workers[pid] {
		return
	}
	delete(rec.workers, pid)
	c.dirty = true
}

// stopWatches ends rec's exit watches (finishPhase1).
func (c *core) stopWatches(rec *reloadRec) {
	for _, stop := range rec.stops {
		stop()
	}
	rec.stops = nil
	rec.successor = 0
}

// watchesWorkers reports whether a reload of strategy with the master's
// children workers waits for them to be replaced.
func watchesWorkers(strategy config.ReloadStrategy, workers []int) bool {
	return strategy == config.ReloadSignal && len(workers) > 0
}
