package supervisor

import (
	"github.com/drover-sh/drover/internal/config"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// defaultReadyTimeout bounds a readiness wait and a re-exec's adoption when
// Drover.ReadyTimeout is unset (the config contract's default).
const defaultReadyTimeout = 60 * time.Second

// errGenerationEnded is the cause that ends a readiness wait when the
// generation being probed exited.
var errGenerationEnded = errors.New("the serving generation exited")

// reloadRec is one running reload request of one process. Its owner-side
// part (phase 1: the signal, the adoption of a re-exec'd successor, the
// stop and start) ends with one value on phase1; the readiness wait (phase
// 2) runs on the requester's goroutine.
type reloadRec struct {
	p        *proc
	strategy config.ReloadStrategy
	// inst is the generation that serves after the reload: the signalled
	// one (signal, reexec), or the new one once started (restart).
	inst    *instance
	pid     int   // the pid to probe, set before phase1 is sent
	child   Child // the Child that probes it; nil: ready at once
	reexecs int   // inst.reexecs when a reexec reload began
	// lost is how inst's main pid ended, if it did during the reload.
	lost   string
	cancel context.CancelCauseFunc // ends the readiness wait

	phase1    chan error // buffered 1; written once
	done1     bool
	abandoned bool // the requester went away during phase 1
	w         waiter
	t         timer    // re-exec adoption deadline
	bg        *handoff // reload = bluegreen
	// to is an update's config for the new generation (blue/green only);
	// nil: the process's own.
	to *config.Process

	// successor is the new master of a reexec reload once found after
	// the signal (0 before, and once the reload ended): Info's HandoffPid.
	successor int
	// before are the old master's children before the signal, which the
	// search skips; researches counts searches taken up again after a
	// child that exited 0 (successorExited).
	before     []int
	researches int
	// workers are the pids a reload = signal waits to see replaced.
	workers map[int]bool
	// stops end the exit watches (successor, workers).
	stops []func()

	// t0 and oldPid are when the reload began and the pid serving then,
	// for its EventReload steps; announced: Started was published.
	t0        time.Time
	oldPid    int
	announced bool
}

// ReloadProcess reloads one process by its Drover.Reload strategy:
//
//   - "restart" (and ""): stop, then start; done when RUNNING again.
//   - "signal": send Drover.ReloadSignal; the pid stays. When the master
//     had children (a pre-fork server's workers) before the signal, wait
//     until every one of them exited (replaced: puma's phased restart),
//     at most Drover.ReadyTimeout; the request fails naming those left.
//   - "reexec": send the reload signal (USR2 when unset) and wait until the
//     re-exec'd successor is adopted as the new main pid (at most
//     Drover.ReadyTimeout, default 60 s). If the old master exits without
//     a successor the exit takes the normal path (autorestart) and the
//     reload fails saying so. The new master (the old one's child that
//     appears after the signal) is watched meanwhile and shown as
//     HandoffPid: its exit fails the reload at once, the old master
//     serving on; at the timeout it is killed with its workers.
//   - "bluegreen": spawn a new generation beside the serving one (both
//     on drover's sockets), wait until it is ready (Drover.Ready, else
//     startsecs of uptime; at most Drover.ReadyTimeout), send the old one
//     Drover.GracefulStopSignal (its group with stopasgroup) and SIGKILL
//     its group after Drover.GracefulTimeout.
//     Done when the old one exited; the process stays RUNNING and Info
//     shows the other generation as HandoffPid meanwhile. A new generation
//     that fails to spawn, is not ready in time or exits early is stopped
//     and the old one keeps serving (the request fails saying why); if
//     the old one crashes meanwhile the new one takes over. A stop
//     request stops both.
//
// When Drover.Ready is set, the reload then waits for the serving pid to be
// ready (at most Drover.ReadyTimeout); a timeout fails the request and
// leaves the process running as it is. A crash of
// the serving generation during the reload fails the request; the exit
// itself follows the normal rules.
//
// A second reload of the same process while one runs is refused (FAILED,
// "already in progress") rather than queued: the caller can retry, and two
// hand-offs never overlap. Faults: BAD_NAME, NOT_RUNNING (not STARTING,
// RUNNING or, for restart, BACKOFF), FAILED, SPAWN_ERROR and
// ABNORMAL_TERMINATION (restart), SHUTDOWN_STATE. If ctx ends first the
// request returns ctx's error; a restart under way still completes.
func (s *Supervisor) ReloadProcess(ctx context.Context, name string) error {
	return s.reload(ctx, name, nil)
}

// reload is ReloadProcess; with to, a blue/green hand-off to a generation
// spawned from to (an update), which becomes the process's config once that
// generation serves.
func (s *Supervisor) reload(ctx context.Context, name string, to *config.Process) (err error) {
	rctx, rcancel := context.WithCancelCause(ctx)
	defer rcancel(nil)
	rec := &reloadRec{cancel: rcancel, phase1: make(chan error, 1), to: to}
	began := time.Now()
	// endReload runs however this ends, also when ctx ended while the
	// owner was already beginning the reload (the reply is then lost).
	defer func() {
		took := time.Since(began)
		s.post(func(c *core) { c.noteReload(rec, took, err); c.endReload(rec, err) })
	}()
	if _, err := call(s, ctx, func(c *core, _ *waiter, reply chan<- res[struct{}]) {
		reply <- res[struct{}]{err: c.beginReload(name, rec)}
	}); err != nil {
		return err
	}
	select {
	case err := <-rec.phase1:
		if err != nil {
			return err
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	cfg := rec.p.cfg
	if cfg.Drover.Ready.Kind != "" && rec.strategy != config.ReloadBlueGreen && rec.child != nil {
		to := readyTimeout(cfg.Drover.ReadyTimeout)
		wctx, cancel := context.WithTimeout(rctx, to)
		err := rec.child.WaitReady(wctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !errors.Is(context.Cause(rctx), errGenerationEnded) {
				return fault(CodeFailed, fmt.Sprintf("%s: pid %d not ready within %v after the reload (%v); it keeps running",
					rec.name(), rec.pid, to, err))
			}
		}
	}
	_, err = call(s, context.WithoutCancel(ctx), func(c *core, _ *waiter, reply chan<- res[struct{}]) {
		reply <- res[struct{}]{err: c.finishReload(rec)}
	})
	return err
}

// reloadStep publishes one step of rec (an EventReload); newPid is the
// generation the reload produced, when known.
func (c *core) reloadStep(rec *reloadRec, phase ReloadPhase, newPid int, err error) {
	if phase == ReloadStarted {
		rec.announced = true
	}
	st := &ReloadStep{Phase: phase, Strategy: string(rec.strategy), OldPid: rec.oldPid, NewPid: newPid,
		Elapsed: time.Since(rec.t0)}
	if err != nil {
		st.Error = detailOf(err)
	}
	pid := newPid
	if pid == 0 {
		pid = rec.oldPid
	}
	c.s.bus.publish(Event{Kind: EventReload, Time: time.Now(), Group: rec.p.group.name, Name: rec.p.cfg.Name,
		Pid: pid, Reload: st})
}

func readyTimeout(d time.Duration) time.Duration {
	if d <= 0 {
		return defaultReadyTimeout
	}
	return d
}

func (r *reloadRec) name() string { return namespec(r.p) }

// post runs f on the owner goroutine without waiting for it.
func (s *Supervisor) post(f func(c *core)) {
	_ = s.send(context.Background(), reqFunc(f))
}

// beginReload checks and starts a reload on the owner goroutine.
func (c *core) beginReload(name string, rec *reloadRec) (err error) {
	if err := c.checkRunning(); err != nil {
		return err
	}
	p, err := c.lookup(name)
	if err != nil {
		return err
	}
	if p.reload != nil {
		return fault(CodeFailed, fmt.Sprintf("%s: a reload (%s) is already in progress", namespec(p), p.reload.strategy))
	}
	rec.p = p
	rec.strategy = p.cfg.Drover.Reload
	if rec.to != nil {
		rec.strategy = config.ReloadBlueGreen
	}
	if rec.strategy == "" {
		rec.strategy = config.ReloadRestart
	}
	rec.t = timer{idx: -1, fire: func(c *core) { c.successorTimeout(rec) }}
	rec.t0, rec.oldPid = time.Now(), p.cur.pidOrZero()
	switch rec.strategy {
	case config.ReloadRestart:
		err = c.beginRestart(p, rec)
	case config.ReloadSignal, config.ReloadReexec:
		err = c.beginSignalReload(p, rec)
	case config.ReloadBlueGreen:
		err = c.beginBlueGreen(p, rec)
	default:
		err = fault(CodeFailed, fmt.Sprintf("%s: unknown reload strategy %q", namespec(p), rec.strategy))
	}
	if err != nil && rec.announced {
		c.reloadStep(rec, ReloadFailed, 0, err)
	}
	return err
}

// beginSignalReload sends the reload signal (signal and reexec).
func (c *core) beginSignalReload(p *proc, rec *reloadRec) error {
	inst := p.cur
	if (p.state != Running && p.state != Starting) || inst == nil || inst.pid == 0 {
		return fault(CodeNotRunning, namespec(p))
	}
	if inst.looking {
		return fault(CodeFailed, lookingInfo(p))
	}
	sig := reloadSignal(p.cfg)
	if sig == 0 {
		return fault(CodeFailed, namespec(p)+": reload = signal needs reload_signal")
	}
	rec.inst = inst
	rec.reexecs = inst.reexecs
	if rec.strategy == config.ReloadReexec {
		inst.follow = true
	}
	// The master's children before the signal: a pre-fork server's
	// workers, which a signal reload waits to see replaced, and which are
	// not the new master a re-exec forks.
	before := c.s.host.Children(inst.pid)
	c.logf(slog.LevelInfo, "reloading '%s' (%s): sending %s to pid %d", p.cfg.Name, rec.strategy, signame(sig), inst.pid)
	c.reloadStep(rec, ReloadStarted, 0, nil)
	if ch := inst.liveChild(); ch != nil && rec.strategy == config.ReloadSignal {
		ch.RearmReady()
	}
	if err := c.signal(p, sig); err != nil {
		return err
	}
	p.reload = rec
	if watchesWorkers(rec.strategy, before) {
		c.watchWorkers(p, rec, inst, before)
		return nil
	}
	if rec.strategy == config.ReloadSignal {
		rec.pid, rec.child = inst.pid, inst.liveChild()
		c.finishPhase1(rec, nil)
		return nil
	}
	c.searchSuccessor(rec, inst.pid, before)
	c.timers.arm(&rec.t, time.Now().Add(readyTimeout(p.cfg.Drover.ReadyTimeout)))
	c.addWaiter(&rec.w, func(c *core) bool {
		switch {
		case rec.done1:
			return true
		case p.cur != inst && p.state == Stopped:
			c.finishPhase1(rec, fault(CodeFailed, fmt.Sprintf("%s: stopped during the reload (%s)", namespec(p), rec.lost)))
		case p.cur != inst:
			c.finishPhase1(rec, fault(CodeFailed, fmt.Sprintf(
				"%s: the master exited (%s) with no re-exec'd successor; the normal exit rules applied", namespec(p), rec.lost)))
		case inst.looking:
			return false
		case inst.reexecs > rec.reexecs:
			rec.pid, rec.child = inst.pid, inst.liveChild()
			c.finishPhase1(rec, nil)
		case p.state != Running && p.state != Starting:
			c.finishPhase1(rec, fault(CodeFailed, fmt.Sprintf("%s: %s during the reload", namespec(p), p.state)))
		default:
			return false
		}
		return true
	})
	return nil
}

// beginRestart is the restart strategy: stop, then start and wait for
// RUNNING, as supervisorctl restart does.
func (c *core) beginRestart(p *proc, rec *reloadRec) error {
	if !p.state.IsRunning() {
		return fault(CodeNotRunning, namespec(p))
	}
	c.reloadStep(rec, ReloadStarted, 0, nil)
	if err := c.stopOne(p); err != nil {
		return err
	}
	p.reload = rec
	started := false
	c.addWaiter(&rec.w, func(c *core) bool {
		if rec.done1 {
			return true
		}
		if !started {
			if !p.state.IsStopped() {
				return false
			}
			err := c.checkRunning()
			if err == nil {
				err = c.startOne(p)
			}
			if err != nil {
				c.finishPhase1(rec, err)
				return true
			}
			started = true
		}
		done, err := startOutcome(p, true)
		if !done {
			return false
		}
		if err == nil {
			rec.inst, rec.pid, rec.child = p.cur, p.cur.pid, p.cur.liveChild()
		}
		c.finishPhase1(rec, err)
		return true
	})
	return nil
}

// finishPhase1 delivers the owner-side outcome once.
func (c *core) finishPhase1(rec *reloadRec, err error) {
	if rec.done1 {
		return
	}
	rec.done1 = true
	c.stopWatches(rec)
	c.timers.cancel(&rec.t)
	c.removeWaiter(&rec.w)
	rec.phase1 <- err
	if err != nil {
		c.logf(slog.LevelWarn, "reload of '%s' failed: %v", rec.p.cfg.Name, err)
	}
	if rec.abandoned {
		// Nobody waits for the readiness check or the last check: the
		// owner-side outcome is the outcome.
		c.reloadEnded(rec, err)
		c.clearReload(rec)
	}
}

// reloadLost notes that inst's main pid ended; during the readiness wait
// it ends that wait. Called from exited for the current generation.
func (c *core) reloadLost(p *proc, inst *instance, how string) {
	rec := p.reload
	if rec == nil || rec.inst != inst {
		return
	}
	rec.lost = how
	if rec.done1 {
		c.logf(slog.LevelWarn, "reload of '%s': pid %d exited during the reload (%s)", p.cfg.Name, inst.pid, how)
		rec.cancel(errGenerationEnded)
	}
}

// finishReload is the last check: the generation the reload produced still
// serves.
func (c *core) finishReload(rec *reloadRec) error {
	p := rec.p
	if rec.lost != "" || p.cur != rec.inst || (p.state != Running && p.state != Starting) {
		how := rec.lost
		if how == "" {
			how = "now " + p.state.String()
		}
		return fault(CodeFailed, fmt.Sprintf("%s: the serving generation exited during the reload (%s)", namespec(p), how))
	}
	c.logf(slog.LevelInfo, "reloaded: %s (%s, pid %d)", p.cfg.Name, rec.strategy, rec.pid)
	return nil
}

// endReload runs when the requester is done; a restart whose requester
// left during phase 1 completes on its own and clears itself then.
func (c *core) endReload(rec *reloadRec, err error) {
	if rec.p == nil || rec.p.reload != rec {
		return // refused, or never begun
	}
	if !rec.done1 {
		rec.abandoned = true
		return
	}
	c.reloadEnded(rec, err)
	c.clearReload(rec)
}

// reloadEnded publishes the outcome of rec: err is the request's answer
// (nil: done).
func (c *core) reloadEnded(rec *reloadRec, err error) {
	if err != nil {
		c.reloadStep(rec, ReloadFailed, 0, err)
		return
	}
	c.reloadStep(rec, ReloadDone, rec.pid, nil)
}

func (c *core) clearReload(rec *reloadRec) {
	if rec.p.reload == rec {
		rec.p.reload = nil
	}
}

// reloadMany rolls a reload over a group (or every group) in start order,
// batch processes at a time (at least one), skipping processes that are
// not running: a batch's reloads run together and the next batch starts
// once all of them are done. The roll stops after the first batch with a
// failure so the rest keep serving; they are reported FAILED "not
// reloaded".
func (s *Supervisor) reloadMany(ctx context.Context, name string, all bool, batch int) ([]Result, error) {
	type target struct{ spec, name, group string }
	targets, err := call(s, ctx, func(c *core, _ *waiter, reply chan<- res[[]target]) {
		ps, err := c.procsOf(name, all)
		var out []target
		for _, p := range ps {
			if p.state.IsRunning() {
				out = append(out, target{namespec(p), p.cfg.Name, p.group.name})
			}
		}
		reply <- res[[]target]{v: out, err: err}
	})
	if err != nil {
		return nil, err
	}
	batch = max(batch, 1)
	results := make([]Result, len(targets))
	failed := ""
	for from := 0; from < len(targets); from += batch {
		chunk := targets[from:min(from+batch, len(targets))]
		if failed != "" {
			for i, t := range chunk {
				results[from+i] = Result{Name: t.name, Group: t.group, Status: CodeFailed,
					Description: fault(CodeFailed, "not reloaded: the reload of "+failed+" failed").Error()}
			}
			continue
		}
		errs := make([]error, len(chunk))
		var wg sync.WaitGroup
		for i, t := range chunk {
			wg.Go(func() { errs[i] = s.ReloadProcess(ctx, t.spec) })
		}
		wg.Wait()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		for i, t := range chunk {
			r := Result{Name: t.name, Group: t.group, Status: CodeSuccess, Description: "OK"}
			if err := errs[i]; err != nil {
				r.Status, r.Description = CodeFailed, err.Error()
				var f *Fault
				if errors.As(err, &f) {
					r.Status = f.Code
				}
				if failed == "" {
					failed = t.spec
				}
			}
			results[from+i] = r
		}
	}
	return results, nil
}

// ReloadGroup reloads the group's running processes batch at a time (see
// ReloadProcess and reloadMany), stopping after the first failure:
// BAD_NAME, SHUTDOWN_STATE, or one Result per running process.
func (s *Supervisor) ReloadGroup(ctx context.Context, name string, batch int) ([]Result, error) {
	return s.reloadMany(ctx, name, false, batch)
}

// ReloadAll is ReloadGroup over every group in start order.
func (s *Supervisor) ReloadAll(ctx context.Context, batch int) ([]Result, error) {
	return s.reloadMany(ctx, "", true, batch)
}
