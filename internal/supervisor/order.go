package supervisor

import (
	"context"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

// orderedStop stops groups one at a time from the highest priority number
// down; a group is signalled only once every process of the previous group
// is in a stopped state. Inside a group all processes are signalled
// together, highest process priority first. supervisord does this for
// shutdown and reload; drover does it for StopAll too (fix of #217).
type orderedStop struct {
	groups    []*group // ascending; consumed from the end
	shutdown  bool     // shutdown/restart: BACKOFF goes to FATAL, no results
	signalled bool     // the last group has been signalled
	results   []Result
	// A listener pool's drain before it is signalled (shutdown only).
	draining, drained bool
	drainGen          int // tells a late "drained" of an earlier pool apart
	drainBound        timer
}

// poolDrainBound is the longest a shutdown waits for a listener pool to
// deliver what it buffered: a listener that keeps up needs milliseconds;
// one that does not must not hold the shutdown.
const poolDrainBound = time.Second

func newOrderedStop(c *core, shutdown bool) *orderedStop {
	return &orderedStop{groups: append([]*group(nil), c.order...), shutdown: shutdown, drainBound: timer{idx: -1}}
}

// step advances the stop; it reports whether every group is stopped.
func (o *orderedStop) step(c *core) bool {
	for len(o.groups) > 0 {
		g := o.groups[len(o.groups)-1]
		if c.groups[g.name] != g { // removed meanwhile
			o.pop()
			continue
		}
		if !o.signalled {
			if o.shutdown && g.cfg.Kind == config.KindEventListener && !o.poolDrained(c, g) {
				return false
			}
			o.signalled = true
			o.signal(c, g)
		}
		if g.unstopped() {
			return false
		}
		o.pop()
	}
	return true
}

func (o *orderedStop) pop() {
	o.groups = o.groups[:len(o.groups)-1]
	o.signalled, o.draining, o.drained = false, false, false
}

// poolDrained reports whether listener pool g may be stopped, asking the
// host to drain it first (see Host.DrainPool).
func (o *orderedStop) poolDrained(c *core, g *group) bool {
	if o.drained {
		return true
	}
	if o.draining {
		return false
	}
	o.draining = true
	o.drainGen++
	gen, s := o.drainGen, c.s
	finish := func(c *core) {
		if o.drainGen == gen && o.draining {
			o.drained = true
			c.timers.cancel(&o.drainBound)
			c.dirty = true
		}
	}
	o.drainBound.fire = finish
	c.timers.arm(&o.drainBound, time.Now().Add(poolDrainBound))
	c.s.host.DrainPool(g.name, func() {
		select {
		case s.inbox <- reqFunc(finish):
		case <-s.done:
		}
	})
	return false
}

// lastSignalled reports whether every group has been signalled.
func (o *orderedStop) lastSignalled() bool {
	return len(o.groups) == 0 || (len(o.groups) == 1 && o.signalled)
}

func (o *orderedStop) signal(c *core, g *group) {
	for i := len(g.procs) - 1; i >= 0; i-- {
		p := g.procs[i]
		if o.shutdown {
			switch p.state {
			case Starting, Running, Backoff:
				_ = c.handle(p, event{kind: evShutdownStop})
			case Exited, Fatal:
				c.timers.cancel(&p.t) // a delayed restart must not fire later
			}
			continue
		}
		if c.ungate(p) {
			continue // held by depends_on: stop all drops the hold
		}
		if !p.state.IsRunning() && !p.retryPending() {
			continue
		}
		if err := c.stopOne(p); err != nil {
			o.results = append(o.results, errResult(p, err))
		} else {
			o.results = append(o.results, okResult(p))
		}
	}
}

// StopAll is stopAllProcesses with supervisord's shutdown ordering (a
// deliberate fix of #217: supervisord signals everything at once in
// ascending order). Groups are stopped from the highest priority number
// down, each after the previous one has stopped. Without wait the reply
// comes once the last group has been signalled; with wait once every
// process is stopped. Results are OK or FAILED per process stopped.
func (s *Supervisor) StopAll(ctx context.Context, wait bool) ([]Result, error) {
	return call(s, ctx, func(c *core, w *waiter, reply chan<- res[[]Result]) {
		if err := c.checkRunning(); err != nil {
			reply <- res[[]Result]{err: err}
			return
		}
		o := newOrderedStop(c, false)
		c.addWaiter(w, func(c *core) bool {
			done := o.step(c)
			if done || (!wait && o.lastSignalled()) {
				reply <- res[[]Result]{v: o.results}
				return true
			}
			return false
		})
	})
}

// Shutdown stops every process in shutdown order (groups by descending
// priority, each after the previous one stopped; BACKOFF processes become
// FATAL), then Run returns nil. Shutdown returns when Run has returned or
// ctx is done; the shutdown goes on either way. During a restart it turns
// the restart into a shutdown.
func (s *Supervisor) Shutdown(ctx context.Context) error {
	return s.terminate(ctx, StateShutdown)
}

// Restart performs the stop part of a reload: the same ordered stop as
// Shutdown, after which Run returns ErrRestart and the caller builds a new
// Supervisor from the re-read configuration. SHUTDOWN_STATE if a shutdown
// is already under way.
func (s *Supervisor) Restart(ctx context.Context) error {
	return s.terminate(ctx, StateRestarting)
}

// BeginStop begins what Shutdown (restart false) or Restart does and
// returns once it has begun, so the daemon's lifecycle goroutine never
// waits for processes to stop; Done tells when Run has returned.
func (s *Supervisor) BeginStop(ctx context.Context, restart bool) error {
	to := StateShutdown
	if restart {
		to = StateRestarting
	}
	_, err := call(s, ctx, func(c *core, _ *waiter, reply chan<- res[struct{}]) {
		reply <- res[struct{}]{err: c.beginStop(to)}
	})
	return err
}

func (s *Supervisor) terminate(ctx context.Context, to SupervisorState) error {
	if err := s.BeginStop(ctx, to == StateRestarting); err != nil {
		return err
	}
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *core) beginStop(to SupervisorState) error {
	switch {
	case c.state == StateRunning:
	case c.state == StateRestarting && to == StateShutdown:
		c.state = StateShutdown
		c.exitErr = nil
		return nil
	case to == StateShutdown:
		return nil // already shutting down
	default:
		return fault(CodeShutdownState, "")
	}
	c.state = to
	if to == StateRestarting {
		c.exitErr = ErrRestart
	}
	c.s.bus.publish(Event{Kind: EventSupervisorState, Time: time.Now(), Supervisor: to})
	o := newOrderedStop(c, true)
	c.timers.cancel(&c.report)
	c.armReport()
	c.addWaiter(&waiter{}, func(c *core) bool {
		if o.step(c) && c.inflight == 0 {
			c.finished = true
			return true
		}
		return false
	})
	return nil
}
