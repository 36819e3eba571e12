package supervisor

import (
	"context"
	"log/slog"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

// Health checks (config.Health: health=, health_interval, health_timeout,
// health_threshold). Each RUNNING process with health= has one timer in
// the core's heap; when it fires one try of the probe runs on a worker
// goroutine and its result comes back as a message, after which the next
// try is armed. Threshold failures in a row publish EventHealth and run
// the program's reload (ReloadProcess: its reload= strategy, a restart
// where it has none). A program without health= has no timer.

// HealthChild is a Child capability: CheckHealth runs one try of probe (an
// http or tcp probe; http://{probe} goes to the generation's probe socket)
// and returns nil when it answered. A Child without it is not checked.
type HealthChild interface {
	CheckHealth(ctx context.Context, probe config.Ready) error
}

// HealthFailure is what an EventHealth reports.
type HealthFailure struct {
	Failures int    // failures in a row (the threshold)
	Error    string // the last failure
	Action   string // "reload" or "restart" (the program's strategy)
}

// healthState is one process's health check.
type healthState struct {
	t      timer
	fails  int
	busy   bool // a try is in flight
	acting bool // the reload it asked for runs
}

// watchHealth arms p's next check (p is RUNNING) if it has health=.
func (c *core) watchHealth(p *proc) {
	h := p.cfg.Drover.Health
	if !h.Any() {
		return
	}
	if p.health == nil {
		p.health = &healthState{}
		p.health.t = timer{idx: -1, fire: func(c *core) { c.checkHealth(p) }}
	}
	if hs := p.health; !hs.busy && !hs.t.armed() {
		c.timers.arm(&hs.t, time.Now().Add(h.Interval))
	}
}

// checkHealth starts one try of p's probe, or stops checking p (not
// RUNNING any more: entering RUNNING again re-arms it).
func (c *core) checkHealth(p *proc) {
	hs, h := p.health, p.cfg.Drover.Health
	if p.state != Running || c.groups[p.group.name] != p.group || !h.Any() || c.state != StateRunning {
		hs.fails = 0
		return
	}
	if p.reload != nil || p.handoff != nil || hs.acting || p.cur == nil || p.cur.pid == 0 || p.cur.looking {
		hs.fails = 0 // a reload under way: judge the generation it leaves
		c.watchHealth(p)
		return
	}
	hc, ok := p.cur.child.(HealthChild)
	if !ok {
		return
	}
	hs.busy = true
	inst, s := p.cur, c.s
	go func() {
		ctx, cancel := context.WithTimeout(s.life, h.Timeout)
		err := hc.CheckHealth(ctx, h.Probe)
		cancel()
		s.post(func(c *core) { c.healthDone(p, inst, err) })
	}()
}

// healthDone takes one try's result on the owner goroutine.
func (c *core) healthDone(p *proc, inst *instance, err error) {
	hs, h := p.health, p.cfg.Drover.Health
	hs.busy = false
	if p.state != Running || p.cur != inst || p.reload != nil || hs.acting || !h.Any() {
		c.rearmHealth(p)
		return
	}
	if err == nil {
		if hs.fails > 0 {
			c.logf(slog.LevelInfo, "health: '%s' passes again after %d failure(s)", namespec(p), hs.fails)
		}
		hs.fails = 0
		c.rearmHealth(p)
		return
	}
	hs.fails++
	c.logf(slog.LevelWarn, "health: '%s' (pid %d) failed %d/%d: %v", namespec(p), inst.pid, hs.fails, h.Threshold, err)
	if hs.fails < h.Threshold {
		c.rearmHealth(p)
		return
	}
	action, strategy := "reload", p.cfg.Drover.Reload
	if strategy == "" || strategy == config.ReloadRestart {
		action, strategy = "restart", config.ReloadRestart
	}
	f := HealthFailure{Failures: hs.fails, Error: err.Error(), Action: action}
	c.logf(slog.LevelWarn, "health: '%s' failed %d checks in a row: %s (%s)", namespec(p), hs.fails, action+"ing", strategy)
	c.s.bus.publish(Event{Kind: EventHealth, Time: time.Now(), Group: p.group.name, Name: p.cfg.Name,
		Pid: inst.pid, Health: &f})
	hs.fails = 0
	hs.acting = true
	name, s := namespec(p), c.s
	go func() {
		err := s.ReloadProcess(s.life, name)
		s.post(func(c *core) {
			hs.acting = false
			if err != nil {
				c.logf(slog.LevelError, "health: '%s' %s failed: %v", name, action, err)
			} else {
				c.logf(slog.LevelInfo, "health: '%s' %sed", name, action)
			}
			c.rearmHealth(p)
		})
	}()
}

func (c *core) rearmHealth(p *proc) {
	if p.state == Running && c.state == StateRunning {
		c.watchHealth(p)
	}
}
