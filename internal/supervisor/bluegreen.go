package supervisor

import (
	"fmt"
	"log/slog"
	"syscall"
	"time"
)

// The blue/green hand-off (reload = bluegreen), run on the owner goroutine
// with its timers and per-pid exit routing, like everything else.
//
// While generation N (p.cur) serves on drover's sockets, generation N+1 is
// spawned beside it (p.handoff), waited on (readiness probe, else startsecs
// of uptime), then N gets Drover.GracefulStopSignal and N+1 becomes p.cur;
// SIGKILL goes to N's group after Drover.GracefulTimeout. The process stays
// RUNNING throughout and N's exit never respawns. The request is answered
// when N has exited. Failures never cost service: N+1 not ready or exiting
// early is stopped and N keeps serving.
//
// With TCP sockets, N+1 has listeners of its own (Sockets.Listen beside)
// that get no connection until it is ready; promotion steers every new
// connection to them, and N gets its signal once its own accept queue is
// empty (checked every drainTick, after drainGrace for workers already
// woken, at most drainMax): a worker told to stop right after accept may
// close the connection it just took unanswered (Net::Server on HUP).

// defaultGracefulTimeout applies when Drover.GracefulTimeout is unset.
const defaultGracefulTimeout = 30 * time.Second

// The old generation's drain after promotion (steered listeners): its queue is
// re-checked every drainTick; it is signalled once the queue was empty for
// drainGrace, or after drainMax whatever the queue holds.
const (
	drainTick  = 15 * time.Millisecond
	drainGrace = 15 * time.Millisecond
	drainMax   = time.Second
)

// handoff is the state of one blue/green reload.
type handoff struct {
	old, next *instance // nil once gone
	promoted  bool      // next is p.cur and old was asked to stop
	stopping  bool      // a stop request came during the hand-off
	// fail, once set, is the request's answer: the hand-off is being
	// undone and the reply waits until the unwanted generation is gone.
	fail     error
	retiring *instance // the generation asked to stop, for the kill timer
	up       timer     // startsecs of uptime when there is no probe
	kill     timer     // SIGKILL of retiring's group
	drain    timer     // re-checks old's accept queue after promotion
	// busyAt is when old's queue was last seen non-empty (promotion
	// first); drainEnd bounds the wait.
	busyAt, drainEnd time.Time
	t0               time.Time
}

func gracefulSignal(rec *reloadRec) syscall.Signal {
	if s := rec.p.cfg.Drover.GracefulStopSignal; s != 0 {
		return s
	}
	return syscall.SIGTERM
}

func gracefulTimeout(rec *reloadRec) time.Duration {
	if d := rec.p.cfg.Drover.GracefulTimeout; d > 0 {
		return d
	}
	return defaultGracefulTimeout
}

// beginBlueGreen spawns the new generation beside the serving one.
func (c *core) beginBlueGreen(p *proc, rec *reloadRec) error {
	old := p.cur
	if p.state != Running || old == nil || old.pid == 0 {
		return fault(CodeNotRunning, namespec(p))
	}
	if old.looking {
		return fault(CodeFailed, lookingInfo(p))
	}
	if p.handoff != nil {
		return fault(CodeFailed, fmt.Sprintf("%s: generation pid %d is still being retired", namespec(p), p.handoff.pid))
	}
	hb := &handoff{old: old, t0: time.Now()}
	hb.up = timer{idx: -1, fire: func(c *core) { c.bgReady(rec, nil) }}
	hb.kill = timer{idx: -1, fire: func(c *core) { c.bgKill(rec) }}
	hb.drain = timer{idx: -1, fire: func(c *core) { c.bgDrain(rec) }}
	rec.bg = hb
	p.reload = rec
	c.gen++
	next := &instance{p: p, cfg: p.cfg, gen: c.gen, exitsAtSpawn: c.exits}
	what := "a new generation"
	if rec.to != nil {
		next.cfg, what = rec.to, "a new generation with the new config"
	}
	hb.next = next
	p.handoff = next
	c.dirty = true
	c.logf(slog.LevelInfo, "reloading '%s' (bluegreen): starting %s beside pid %d", p.cfg.Name, what, old.pid)
	c.reloadStep(rec, ReloadStarted, 0, nil)
	c.spawnInst(next, true)
	return nil
}

// bgSpawned takes the spawn result of a hand-off's new generation; false
// when inst is none.
func (c *core) bgSpawned(p *proc, inst *instance, err error) bool {
	rec := p.reload
	if rec == nil || rec.bg == nil || rec.bg.next != inst || rec.done1 {
		return false
	}
	hb := rec.bg
	if err != nil {
		hb.next = nil
		if p.handoff == inst {
			p.handoff = nil
		}
		if hb.fail == nil {
			hb.fail = fault(CodeSpawnError, fmt.Sprintf("%s: the new generation could not start (%v); pid %d keeps serving",
				namespec(p), err, p.cur.pidOrZero()))
		}
		c.bgFinish(rec, hb.fail)
		return true
	}
	inst.spawnedAt = time.Now()
	c.logf(slog.LevelInfo, "spawned: '%s' with pid %d (new generation)", p.cfg.Name, inst.pid)
	c.reloadStep(rec, ReloadSpawned, inst.pid, nil)
	switch {
	case hb.stopping:
		c.bgRetire(rec, inst, p.cfg.StopSignal, p.cfg.StopWait)
	case hb.fail != nil:
		c.bgRetire(rec, inst, gracefulSignal(rec), gracefulTimeout(rec))
	case readyGatedInst(inst):
		c.waitReady(inst)
	case inst.cfg.StartSecs > 0:
		c.timers.arm(&hb.up, inst.spawnedAt.Add(inst.cfg.StartSecs))
	default:
		c.bgReady(rec, nil)
	}
	return true
}

// bgReady goes on once the new generation is ready (err nil) or not.
func (c *core) bgReady(rec *reloadRec, err error) {
	hb, p := rec.bg, rec.p
	next := hb.next
	if rec.done1 || next == nil || next.gone || hb.promoted || hb.fail != nil || hb.stopping {
		return
	}
	if err != nil {
		if p.cur == next {
			// The old generation crashed meanwhile: this one is all there
			// is, so it keeps running.
			c.bgFinish(rec, fault(CodeFailed, fmt.Sprintf("%s: the new generation (pid %d) was not ready (%v); it keeps running (the old one exited)",
				namespec(p), next.pid, err)))
			return
		}
		hb.fail = fault(CodeFailed, fmt.Sprintf("%s: the new generation (pid %d) was not ready (%v); pid %d keeps serving",
			namespec(p), next.pid, err, hb.old.pidOrZero()))
		c.logf(slog.LevelWarn, "reload of '%s': new generation pid %d not ready (%v): stopping it", p.cfg.Name, next.pid, err)
		c.bgRetire(rec, next, gracefulSignal(rec), gracefulTimeout(rec))
		return
	}
	hb.promoted = true
	old := hb.old
	c.serveFrom(p, next)
	p.handoff = old
	p.laststart = next.spawnedAt
	c.dirty = true
	c.reloadStep(rec, ReloadReady, next.pid, nil)
	if old == nil || p.cur == old {
		c.bgFinish(rec, nil)
		return
	}
	if next.sockets != nil && next.sockets.Promote(next.listeners) {
		c.logf(slog.LevelInfo, "handing off '%s': pid %d is ready after %v; new connections go to it, waiting for pid %d's accept queue to drain",
			p.cfg.Name, next.pid, time.Since(hb.t0).Round(time.Millisecond), old.pid)
		hb.busyAt = time.Now()
		hb.drainEnd = hb.busyAt.Add(drainMax)
		c.timers.arm(&hb.drain, hb.busyAt.Add(drainGrace))
		return
	}
	c.logf(slog.LevelInfo, "handing off '%s': pid %d is ready after %v; sending %s to pid %d",
		p.cfg.Name, next.pid, time.Since(hb.t0).Round(time.Millisecond), signame(gracefulSignal(rec)), old.pid)
	c.bgRetire(rec, old, gracefulSignal(rec), gracefulTimeout(rec))
}

// bgDrain signals the promoted-away generation once its accept queue has
// been empty for drainGrace (or drainMax passed); else it checks again.
func (c *core) bgDrain(rec *reloadRec) {
	hb, p := rec.bg, rec.p
	old := hb.old
	if rec.done1 || old == nil || old.gone || old == p.cur || hb.retiring != nil || hb.stopping {
		return
	}
	now := time.Now()
	n := old.sockets.Queued(old.listeners)
	if n > 0 {
		hb.busyAt = now
	}
	switch {
	case n > 0 && !now.Before(hb.drainEnd):
		c.logf(slog.LevelWarn, "handing off '%s': pid %d still has %d connections queued after %v; sending %s anyway",
			p.cfg.Name, old.pid, n, drainMax, signame(gracefulSignal(rec)))
	case n > 0:
		c.timers.arm(&hb.drain, now.Add(drainTick))
		return
	case now.Sub(hb.busyAt) < drainGrace:
		c.timers.arm(&hb.drain, hb.busyAt.Add(drainGrace))
		return
	default:
		c.logf(slog.LevelInfo, "handing off '%s': pid %d's accept queue is empty; sending %s to pid %d",
			p.cfg.Name, old.pid, signame(gracefulSignal(rec)), old.pid)
	}
	c.bgRetire(rec, old, gracefulSignal(rec), gracefulTimeout(rec))
}

// bgRetire asks inst to stop with sig and arms the SIGKILL of its group.
func (c *core) bgRetire(rec *reloadRec, inst *instance, sig syscall.Signal, wait time.Duration) {
	hb := rec.bg
	hb.retiring = inst
	c.timers.cancel(&hb.drain)
	if inst == hb.old && hb.promoted && !hb.stopping {
		c.reloadStep(rec, ReloadRetiring, rec.p.cur.pidOrZero(), nil)
	}
	if inst.readyCancel != nil {
		inst.readyCancel()
	}
	c.sendInst(inst, sig, rec.p.cfg.StopAsGroup)
	c.timers.arm(&hb.kill, time.Now().Add(wait))
}

// bgKill escalates: the retiring generation's group gets SIGKILL (again
// every second until it is reaped).
func (c *core) bgKill(rec *reloadRec) {
	inst := rec.bg.retiring
	if inst == nil || inst.gone {
		return
	}
	c.logf(slog.LevelWarn, "killing '%s' (%d) with SIGKILL: it did not stop in time during the hand-off", rec.p.cfg.Name, inst.pid)
	c.sendInst(inst, syscall.SIGKILL, true)
	c.timers.arm(&rec.bg.kill, time.Now().Add(minKillRepeat))
}

// bgStopped extends a stop request to the other generation of a hand-off.
func (c *core) bgStopped(p *proc) {
	rec := p.reload
	if rec == nil || rec.bg == nil || rec.done1 {
		return
	}
	hb := rec.bg
	hb.stopping = true
	c.timers.cancel(&hb.up)
	if hb.fail == nil {
		hb.fail = fault(CodeFailed, namespec(p)+": stopped during the hand-off")
	}
	other := hb.next
	if hb.promoted {
		other = hb.old
	}
	if other != nil && other != p.cur && other.pid != 0 {
		c.bgRetire(rec, other, p.cfg.StopSignal, p.cfg.StopWait)
	}
	if other == nil || other == p.cur {
		c.bgFinish(rec, hb.fail)
	}
}

// bgExited routes the exit of a generation taking part in a hand-off; it
// reports true when the exit needs nothing more (the normal exit rules
// run otherwise).
func (c *core) bgExited(p *proc, inst *instance, status syscall.WaitStatus) bool {
	rec := p.reload
	if rec == nil || rec.bg == nil || rec.done1 {
		return false
	}
	hb := rec.bg
	_, how := decodeStatus(status)
	if hb.retiring == inst {
		hb.retiring = nil
		c.timers.cancel(&hb.kill)
	}
	switch {
	case inst == hb.next && inst != p.cur:
		// The new generation, before it took over.
		hb.next = nil
		if p.handoff == inst {
			p.handoff = nil
		}
		c.timers.cancel(&hb.up)
		c.dirty = true
		if hb.fail == nil {
			hb.fail = fault(CodeFailed, fmt.Sprintf("%s: the new generation (pid %d) exited before it was ready (%s); pid %d keeps serving",
				namespec(p), inst.pid, how, p.cur.pidOrZero()))
			c.logf(slog.LevelWarn, "reload of '%s': new generation pid %d exited (%s) before it was ready", p.cfg.Name, inst.pid, how)
		} else {
			c.logf(slog.LevelInfo, "reaped new generation of %s, pid %d (%s)", p.cfg.Name, inst.pid, how)
		}
		c.bgFinish(rec, hb.fail)
		return true
	case inst == hb.old && inst != p.cur:
		// The old generation, retired.
		hb.old = nil
		if p.handoff == inst {
			p.handoff = nil
		}
		c.dirty = true
		c.logf(slog.LevelInfo, "handed off '%s': old pid %d exited (%s); pid %d serves (%v in all)",
			p.cfg.Name, inst.pid, how, p.cur.pidOrZero(), time.Since(hb.t0).Round(time.Millisecond))
		c.reloadStep(rec, ReloadRetired, p.cur.pidOrZero(), nil)
		c.bgFinish(rec, hb.fail)
		return true
	case inst == hb.old:
		// The serving generation crashed before the new one took over.
		hb.old = nil
		next := hb.next
		if next != nil && next.pid != 0 && hb.fail == nil && !hb.stopping && p.state == Running {
			c.logf(slog.LevelWarn, "'%s': pid %d exited during the hand-off (%s); continuing with the new generation, pid %d",
				p.cfg.Name, inst.pid, how, next.pid)
			c.serveFrom(p, next)
			p.handoff = nil
			p.laststart = next.spawnedAt
			p.laststop = time.Now()
			c.dirty = true
			if next.sockets != nil {
				next.sockets.Promote(next.listeners) // nothing left to drain
			}
			return true
		}
		// Normal exit rules for it; the new generation is not wanted.
		if hb.fail == nil {
			hb.fail = fault(CodeFailed, fmt.Sprintf("%s: the serving generation exited (%s) before the new one was up; the normal exit rules applied",
				namespec(p), how))
		}
		if next != nil && next.pid != 0 && hb.retiring != next {
			c.bgRetire(rec, next, gracefulSignal(rec), gracefulTimeout(rec))
		}
		if next == nil {
			c.bgFinish(rec, hb.fail)
		}
		return false
	case inst == hb.next:
		// The new generation crashed after it took over: normal rules.
		hb.next = nil
		if hb.fail == nil {
			hb.fail = fault(CodeFailed, fmt.Sprintf("%s: the new generation (pid %d) exited during the hand-off (%s)", namespec(p), inst.pid, how))
		}
		if hb.old == nil {
			c.bgFinish(rec, hb.fail)
		}
		return false
	}
	return false
}

// bgSurvivor is the other generation of a hand-off that a stop request is
// still waiting for when inst exited; nil when none.
func (c *core) bgSurvivor(p *proc, inst *instance) *instance {
	rec := p.reload
	if rec == nil || rec.bg == nil || !rec.bg.stopping {
		return nil
	}
	if o := rec.bg.retiring; o != nil && o != inst && !o.gone && o.pid != 0 {
		return o
	}
	return nil
}

// bgFinish answers the request; on success the new generation is the one
// the reload produced.
func (c *core) bgFinish(rec *reloadRec, err error) {
	hb := rec.bg
	c.timers.cancel(&hb.up)
	c.timers.cancel(&hb.kill)
	c.timers.cancel(&hb.drain)
	if err == nil && rec.p.cur != nil {
		rec.inst, rec.pid = rec.p.cur, rec.p.cur.pid
	}
	if err != nil && rec.to != nil && rec.p.cfg != rec.to {
		rec.p.pending = detailOf(err)
	}
	c.finishPhase1(rec, err)
}

// serveFrom makes next the generation that serves p; its config becomes
// p's (an update's config takes effect with the generation that runs it).
func (c *core) serveFrom(p *proc, next *instance) {
	p.cur = next
	if next.cfg != p.cfg {
		p.cfg = next.cfg
		p.pending = ""
		c.logf(slog.LevelInfo, "'%s' runs its new config from pid %d on", p.cfg.Name, next.pid)
		c.watchLimits(p) // limits the update added
	}
}

func (inst *instance) pidOrZero() int {
	if inst == nil {
		return 0
	}
	return inst.pid
}
