package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"syscall"
	"time"
)

// readyMsg is the outcome of one readiness wait (waitReady).
type readyMsg struct {
	inst *instance
	err  error
	took time.Duration
}

func (m readyMsg) apply(c *core) { c.readyDone(m) }

// readyGated reports whether p's generations count as up when their
// readiness probe (Drover.Ready) answers rather than after startsecs.
func (c *core) readyGated(p *proc) bool { return p.cfg.Drover.Ready.Kind != "" }

// readyGatedInst is readyGated for the config inst was spawned with.
func readyGatedInst(inst *instance) bool { return inst.cfg.Drover.Ready.Kind != "" }

// waitReady runs inst's Child.WaitReady on a worker goroutine, bounded by
// Drover.ReadyTimeout; the result comes back as a readyMsg. The owner
// never blocks on a probe; inst.readyCancel ends the wait early.
func (c *core) waitReady(inst *instance) {
	to := readyTimeout(inst.cfg.Drover.ReadyTimeout)
	ctx, cancel := context.WithTimeout(c.s.life, to)
	inst.readyCancel = cancel
	s, child := c.s, inst.child
	go func() {
		t0 := time.Now()
		err := child.WaitReady(ctx)
		if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("not ready within %v: %w", to, err)
		}
		cancel()
		select {
		case s.inbox <- readyMsg{inst, err, time.Since(t0)}:
		case <-s.done:
		}
	}()
}

// readyDone takes a readiness result on the owner goroutine: a hand-off's
// new generation goes on with the hand-off; a starting generation becomes
// RUNNING, or is stopped and counted as a failed start.
func (c *core) readyDone(m readyMsg) {
	inst, p := m.inst, m.inst.p
	inst.readyCancel = nil
	if m.err == nil {
		p.stats.readyWait, p.stats.readied = m.took, true
	}
	if inst.gone || errors.Is(m.err, ErrExitedBeforeReady) {
		return // its exit decides (its status says more)
	}
	c.dirty = true
	if rec := p.reload; rec != nil && rec.bg != nil && rec.bg.next == inst && !rec.done1 {
		c.bgReady(rec, m.err)
		return
	}
	if p.cur != inst || p.state != Starting || inst.unready != "" {
		return
	}
	if m.err == nil {
		c.logf(slog.LevelDebug, "'%s' (pid %d) ready after %v", p.cfg.Name, inst.pid, m.took)
		c.becomeRunning(p)
		return
	}
	// Like an exit before startsecs: stop it; its exit enters BACKOFF.
	inst.unready = fmt.Sprintf("Not ready: %v", m.err)
	c.logf(slog.LevelWarn, "'%s' (pid %d) not ready (%v): stopping it", p.cfg.Name, inst.pid, m.err)
	c.sendInst(inst, p.cfg.StopSignal, p.cfg.StopAsGroup)
	c.timers.arm(&p.t, time.Now().Add(p.cfg.StopWait))
}

// sendInst signals one generation's main pid, or its process group. A pid
// already gone is fine (its exit is on the way).
func (c *core) sendInst(inst *instance, sig syscall.Signal, group bool) {
	if inst.pid == 0 || inst.gone {
		return
	}
	target := inst.pid
	if group {
		target = inst.pgid
	}
	c.logf(slog.LevelDebug, "sending %s (pid %d) sig %s", inst.p.cfg.Name, inst.pid, signame(sig))
	if err := c.s.host.Signal(target, sig, group); err != nil && !isNoProcess(err) {
		c.logf(slog.LevelWarn, "unknown problem sending sig %s to %s (%d): %v", signame(sig), inst.p.cfg.Name, inst.pid, err)
	}
}
