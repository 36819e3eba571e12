package supervisor

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"syscall"
	"time"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/logfile"
	"golang.org/x/sys/unix"
)

// evKind is what happened to a process.
type evKind uint8

const (
	evStart        evKind = iota // start request (admin or automatic)
	evStop                       // administrative stop
	evShutdownStop               // stop as part of a shutdown/restart: BACKOFF->FATAL
	evSpawned                    // Host.Spawn returned for inst
	evExit                       // inst's pid was reaped
	evTimer                      // the state's deadline passed
)

// event is one input to a process's state machine.
type event struct {
	kind   evKind
	inst   *instance
	err    error
	status syscall.WaitStatus
}

// Messages supervisord logs, kept verbatim.
const (
	msgTooQuickly = "Exited too quickly (process log may have details)"
	// minKillRepeat bounds how often SIGKILL is repeated when stopwaitsecs
	// is 0, so a stuck process cannot make the owner spin.
	minKillRepeat = time.Second
)

// handle is the per-process state machine: every input goes through here,
// so a later reload strategy can add its own events beside these. It returns
// an error only for requests (a failed kill).
func (c *core) handle(p *proc, ev event) error {
	switch ev.kind {
	case evStart:
		c.spawn(p)
	case evStop, evShutdownStop:
		return c.stop(p, ev.kind == evShutdownStop)
	case evSpawned:
		c.spawned(p, ev.inst, ev.err)
	case evExit:
		c.exited(p, ev.inst, ev.status)
	case evTimer:
		c.deadline(p)
	}
	return nil
}

// change moves p to state to and publishes the PROCESS_STATE event.
func (c *core) change(p *proc, to State, pid int, expected bool) {
	from := p.state
	if from == to {
		return
	}
	p.state = to
	if from == Stopping {
		c.stopping--
	}
	if to == Stopping {
		c.stopping++
		c.armReport()
	}
	c.dirty = true
	if to == Running {
		c.watchLimits(p)
		c.watchHealth(p)
	}
	if to == Stopped || to == Fatal || to == Exited {
		c.socketsIdle(p, to)
	}
	if to == Fatal || to == Exited {
		c.watchExitPolicy(p)
	}
	c.s.bus.publish(Event{
		Kind: EventProcessState, Time: time.Now(), Group: p.group.name, Name: p.cfg.Name,
		From: from, To: to, Pid: pid, Tries: p.backoff, Expected: expected,
	})
}

func (c *core) spawn(p *proc) {
	c.timers.cancel(&p.t)
	p.laststart = time.Now()
	p.spawnerr = ""
	p.exitstatus = 0
	c.gen++
	inst := &instance{p: p, cfg: p.cfg, gen: c.gen, exitsAtSpawn: c.exits}
	p.cur = inst
	c.change(p, Starting, 0, true)
	c.spawnInst(inst, false)
}

// spawnInst runs Host.Spawn for inst on a worker goroutine; the result
// comes back as a spawnMsg. Its listeners are taken here, on the owner
// goroutine (beside: a hand-off's new generation gets its own); a bind
// that fails travels the same way as a failed spawn.
func (c *core) spawnInst(inst *instance, beside bool) {
	c.inflight++
	inst.p.stats.starts++
	pr := c.program(inst.p)
	err := c.listen(inst, pr, beside)
	if err == nil {
		pr.gen++
	}
	c.s.spawns.run(c.s, spawnJob{inst: inst, err: err, req: SpawnRequest{
		Process: inst.cfg, Logs: inst.p.logs, Listeners: inst.listeners, Generation: pr.gen,
	}})
}

func (c *core) spawned(p *proc, inst *instance, err error) {
	if inst != p.cur {
		if c.bgSpawned(p, inst, err) {
			return
		}
		// A generation nobody waits for any more; keep the exit routable.
		c.logf(slog.LevelDebug, "spawn result for a replaced generation of %s", p.cfg.Name)
		return
	}
	now := time.Now()
	if err != nil {
		p.cur = nil
		c.recordSpawnErr(p, err.Error())
		if p.state == Stopping { // stop requested while the spawn was in flight
			p.laststop = now
			c.change(p, Stopped, 0, true)
			return
		}
		c.enterBackoff(p, "")
		return
	}
	inst.spawnedAt = now
	c.logf(slog.LevelInfo, "spawned: '%s' with pid %d", p.cfg.Name, inst.pid)
	if p.state == Stopping {
		// The stop arrived before the pid was known: deliver it now.
		_ = c.kill(p, p.cfg.StopSignal, p.cfg.StopAsGroup, false)
		return
	}
	if c.readyGated(p) {
		// RUNNING when the probe answers, not after startsecs.
		c.waitReady(inst)
		return
	}
	if p.cfg.StartSecs <= 0 {
		c.becomeRunning(p)
		return
	}
	c.timers.arm(&p.t, now.Add(p.cfg.StartSecs))
}

func (c *core) recordSpawnErr(p *proc, msg string) {
	p.spawnerr = msg
	c.log.Info("spawnerr: " + msg)
}

func (c *core) becomeRunning(p *proc) {
	c.timers.cancel(&p.t)
	p.backoff = 0
	c.change(p, Running, p.cur.pid, true)
	if c.readyGated(p) {
		c.logf(slog.LevelInfo, "success: %s entered RUNNING state, its readiness probe (%s) answered", p.cfg.Name, p.cfg.Drover.Ready)
		return
	}
	c.logf(slog.LevelInfo, "success: %s entered RUNNING state, process has stayed up for > than %v seconds (startsecs)",
		p.cfg.Name, p.cfg.StartSecs.Seconds())
}

// enterBackoff counts a failed start and schedules the next try backoff
// seconds later, or gives up (FATAL) after startretries+1 attempts. logmsg,
// if any, is logged at WARN after the state change, as supervisord does.
func (c *core) enterBackoff(p *proc, logmsg string) {
	p.backoff++
	c.change(p, Backoff, 0, true)
	if logmsg != "" {
		c.log.Warn(logmsg)
	}
	b := p.cfg.Drover.Backoff
	if r := p.cfg.StartRetries; r >= 0 && p.backoff > r && !b.Forever {
		c.giveUp(p)
		return
	}
	c.timers.arm(&p.t, time.Now().Add(b.Delay(p.backoff)))
}

func (c *core) giveUp(p *proc) {
	c.timers.cancel(&p.t)
	p.backoff = 0
	c.change(p, Fatal, 0, true)
	c.logf(slog.LevelInfo, "gave up: %s entered FATAL state, too many start retries too quickly", p.cfg.Name)
	if d := p.cfg.Drover.Backoff.FatalRetry; d > 0 && c.state == StateRunning {
		// drover's fatal_retry: FATAL is retried later, as a new start.
		c.logf(slog.LevelInfo, "retrying %s in %v (fatal_retry)", p.cfg.Name, d)
		c.timers.arm(&p.t, time.Now().Add(d))
	}
}

// retryPending reports whether p is stopped with a restart armed: a
// delayed crash-loop restart (EXITED) or a fatal_retry (FATAL).
func (p *proc) retryPending() bool {
	return (p.state == Exited || p.state == Fatal) && p.t.armed()
}

// deadline handles p's timer according to its state.
func (c *core) deadline(p *proc) {
	switch p.state {
	case Starting:
		if inst := p.cur; inst != nil && inst.unready != "" {
			// Not ready and asked to stop: it did not within stopwaitsecs.
			c.logf(slog.LevelWarn, "killing '%s' (%d) with SIGKILL", p.cfg.Name, inst.pid)
			c.sendInst(inst, syscall.SIGKILL, p.cfg.KillAsGroup)
			c.timers.arm(&p.t, time.Now().Add(minKillRepeat))
			return
		}
		c.becomeRunning(p)
	case Backoff, Exited, Fatal:
		if c.state == StateRunning {
			c.spawn(p)
		}
	case Stopping:
		inst := p.cur
		if inst == nil || inst.pid == 0 || inst.looking {
			return
		}
		c.logf(slog.LevelWarn, "killing '%s' (%d) with SIGKILL", p.cfg.Name, inst.pid)
		_ = c.kill(p, syscall.SIGKILL, p.cfg.KillAsGroup, true)
	}
}

// stop is an administrative stop (or a shutdown's when shutdown is set).
func (c *core) stop(p *proc, shutdown bool) error {
	switch p.state {
	case Backoff:
		c.logf(slog.LevelDebug, "Attempted to kill %s, which is in BACKOFF state.", p.cfg.Name)
		if shutdown {
			c.giveUp(p)
			return nil
		}
		c.timers.cancel(&p.t)
		c.change(p, Stopped, 0, true)
		return nil
	case Starting, Running:
		err := c.kill(p, p.cfg.StopSignal, p.cfg.StopAsGroup, false)
		c.bgStopped(p)
		return err
	case Exited, Fatal:
		// Only reachable with a delayed restart pending: cancel it.
		if p.t.armed() {
			c.timers.cancel(&p.t)
			if !shutdown {
				c.change(p, Stopped, 0, true)
			}
		}
	}
	return nil
}

// kill sends sig as supervisord's Subprocess.kill does: the process goes to
// STOPPING, and SIGKILL follows every stopwaitsecs until it is reaped
// (repeat marks those SIGKILLs).
func (c *core) kill(p *proc, sig syscall.Signal, asGroup, repeat bool) error {
	inst := p.cur
	if inst == nil {
		msg := fmt.Sprintf("attempted to kill %s with sig %s but it wasn't running", p.cfg.Name, signame(sig))
		c.log.Debug(msg)
		return fault(CodeFailed, msg)
	}
	if inst.pid == 0 || inst.looking {
		// The spawn is in flight, or the main pid exited and its successor
		// is being looked for: STOPPING now, the signal once the pid is
		// known (adopt delivers it).
		c.timers.cancel(&p.t)
		c.change(p, Stopping, 0, true)
		return nil
	}
	target := inst.pid
	how := ""
	if asGroup {
		how = "process group "
		target = inst.pgid // a re-exec'd successor keeps the first pid's group
	}
	c.logf(slog.LevelDebug, "killing %s (pid %d) %swith signal %s", p.cfg.Name, inst.pid, how, signame(sig))
	wait := p.cfg.StopWait
	if repeat && wait < minKillRepeat {
		wait = minKillRepeat
	}
	c.timers.arm(&p.t, time.Now().Add(wait))
	c.change(p, Stopping, inst.pid, true)
	if err := c.s.host.Signal(target, sig, asGroup); err != nil {
		if isNoProcess(err) {
			c.logf(slog.LevelDebug, "unable to signal %s (pid %d), it probably just exited on its own: %v", p.cfg.Name, inst.pid, err)
			return nil
		}
		msg := fmt.Sprintf("unknown problem killing %s (%d):%v", p.cfg.Name, inst.pid, err)
		c.log.Log(context.Background(), logfile.LevelCritical, msg)
		c.timers.cancel(&p.t)
		c.change(p, Unknown, inst.pid, true)
		return fault(CodeFailed, msg)
	}
	return nil
}

// signal sends a non-stopping signal (signalProcess).
func (c *core) signal(p *proc, sig syscall.Signal) error {
	inst := p.cur
	if inst == nil || inst.pid == 0 {
		msg := fmt.Sprintf("attempted to send %s sig %s but it wasn't running", p.cfg.Name, signame(sig))
		c.log.Debug(msg)
		return fault(CodeFailed, msg)
	}
	if inst.looking {
		return fault(CodeFailed, lookingInfo(p))
	}
	if rs := reloadSignal(p.cfg); rs != 0 && sig == rs {
		// A re-exec may follow (supervisorctl signal USR2 web): the exit
		// of this pid then looks for a successor before anything else.
		inst.follow = true
	}
	c.logf(slog.LevelDebug, "sending %s (pid %d) sig %s", p.cfg.Name, inst.pid, signame(sig))
	if err := c.s.host.Signal(inst.pid, sig, false); err != nil {
		if isNoProcess(err) {
			c.logf(slog.LevelDebug, "unable to signal %s (pid %d), it probably just now exited on its own: %v", p.cfg.Name, inst.pid, err)
			return nil
		}
		msg := fmt.Sprintf("unknown problem sending sig %s (%d):%v", p.cfg.Name, inst.pid, err)
		c.log.Log(context.Background(), logfile.LevelCritical, msg)
		c.timers.cancel(&p.t)
		c.change(p, Unknown, inst.pid, true)
		return fault(CodeFailed, msg)
	}
	return nil
}

// exited is supervisord's Subprocess.finish.
func (c *core) exited(p *proc, inst *instance, status syscall.WaitStatus) {
	es, how := decodeStatus(status)
	p.stats.exited(status)
	inst.gone = true
	inst.release()
	if inst.readyCancel != nil {
		inst.readyCancel()
		inst.readyCancel = nil
	}
	if c.bgExited(p, inst, status) {
		return
	}
	if inst != p.cur {
		c.logf(slog.LevelInfo, "reaped old generation of %s, pid %d (%s)", p.cfg.Name, inst.pid, how)
		return
	}
	now := time.Now()
	c.timers.cancel(&p.t)
	p.laststop = now
	p.cur = nil
	p.lastWait = status
	c.reloadLost(p, inst, how)
	expected := slices.Contains(p.cfg.ExitCodes, es)
	name := p.cfg.Name
	switch p.state {
	case Stopping:
		if other := c.bgSurvivor(p, inst); other != nil {
			// A stop during a hand-off: STOPPED once both generations are.
			p.cur, p.handoff = other, nil
			c.logf(slog.LevelInfo, "stopping: %s pid %d exited (%s); waiting for pid %d", name, inst.pid, how, other.pid)
			return
		}
		p.exitstatus = es
		c.change(p, Stopped, inst.pid, true)
		msg := fmt.Sprintf("stopped: %s (%s)", name, how)
		if expected {
			c.log.Info(msg)
		} else {
			c.log.Warn(msg)
		}
		if inst.respawn && c.state == StateRunning {
			c.spawn(p)
		}
	case Starting:
		p.exitstatus = 0
		p.spawnerr = msgTooQuickly
		if inst.unready != "" {
			p.spawnerr = inst.unready
		}
		c.enterBackoff(p, fmt.Sprintf("exited: %s (%s; not expected)", name, how))
	case Running, Unknown:
		wasRunning := p.state == Running
		p.backoff = 0
		p.exitstatus = es
		if expected {
			c.change(p, Exited, inst.pid, true)
			c.logf(slog.LevelInfo, "exited: %s (%s; expected)", name, how)
		} else {
			p.spawnerr = fmt.Sprintf("Bad exit code %d", es)
			c.change(p, Exited, inst.pid, false)
			c.logf(slog.LevelWarn, "exited: %s (%s; not expected)", name, how)
		}
		if wasRunning {
			c.autorestart(p, inst, expected, now)
		}
	default:
		c.logf(slog.LevelWarn, "reaped %s (pid %d) in state %s", name, inst.pid, p.state)
	}
}

// autorestart applies autorestart after RUNNING->EXITED. Deliberate fix of
// supervisord #1285: a run shorter than 1 s (backoff_reset) delays the
// restart by the backoff policy (linear: 1 s, 2 s, ...) so startsecs=0
// crash loops cannot spin; a longer run resets the delay.
func (c *core) autorestart(p *proc, inst *instance, expected bool, now time.Time) {
	if c.state != StateRunning {
		return
	}
	switch p.cfg.Autorestart {
	case config.AutorestartTrue:
	case config.AutorestartUnexpected:
		if expected {
			return
		}
	default:
		return
	}
	b := p.cfg.Drover.Backoff
	if now.Sub(inst.spawnedAt) < b.ResetAfter() {
		p.crashes++
	} else {
		p.crashes = 0
	}
	if p.crashes == 0 {
		c.spawn(p)
		return
	}
	d := b.Delay(p.crashes)
	c.logf(slog.LevelInfo, "delaying restart of %s by %v: it ran for less than %s", p.cfg.Name, d, spellDuration(b.ResetAfter()))
	c.timers.arm(&p.t, now.Add(d))
}

// spellDuration is "1 second", "30 seconds", or "1.5s".
func spellDuration(d time.Duration) string {
	switch {
	case d == time.Second:
		return "1 second"
	case d%time.Second == 0:
		return fmt.Sprintf("%d seconds", d/time.Second)
	}
	return d.String()
}

// decodeStatus is supervisord's decode_wait_status: the exit status (-1
// for a death by signal) and the text used in log lines.
func decodeStatus(ws syscall.WaitStatus) (int, string) {
	switch {
	case ws == StatusUnknown:
		return -1, "exit status unknown: it was not drover's child"
	case ws.Exited():
		es := ws.ExitStatus()
		return es, fmt.Sprintf("exit status %d", es)
	case ws.Signaled():
		msg := "terminated by " + signame(ws.Signal())
		if ws.CoreDump() {
			msg += " (core dumped)"
		}
		return -1, msg
	}
	return -1, fmt.Sprintf("unknown termination cause 0x%04x", uint32(ws))
}

func describeStatus(ws syscall.WaitStatus) string {
	_, s := decodeStatus(ws)
	return s
}

// signame returns "SIGTERM" style names, like supervisord's signame.
func signame(sig syscall.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	return fmt.Sprintf("signal %d", int(sig))
}
