package supervisor

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"syscall"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

// ErrRestart is returned by Run after a Restart request finished its ordered
// stop: the caller reloads the configuration and builds a new Supervisor.
var ErrRestart = errors.New("supervisor: restart requested")

// Supervisor runs a set of process groups. Create it with New, start its
// owner goroutine with Run; every other method is safe from any goroutine.
type Supervisor struct {
	host  Host
	log   *slog.Logger
	inbox chan message
	done  chan struct{} // closed when Run returns
	bus   bus
	core  *core
	// spawns runs Host.Spawn calls off the owner goroutine.
	spawns spawnQueue
	// started guards against a second Run.
	started chan struct{}
	// life ends when Run returns: readiness waits in flight end with it.
	life     context.Context
	lifeDone context.CancelFunc
	// usage is the last on-demand sample (Usage), for CPU percent.
	usage usageCache
}

// message is anything the owner goroutine processes.
type message interface{ apply(c *core) }

// reqFunc is a request: a function run on the owner goroutine.
type reqFunc func(c *core)

func (f reqFunc) apply(c *core) { f(c) }

// exitMsg is a reaped child.
type exitMsg struct {
	pid    int
	status syscall.WaitStatus
}

func (m exitMsg) apply(c *core) { c.reaped(m.pid, m.status) }

// spawnMsg is the result of Host.Spawn for one instance.
type spawnMsg struct {
	inst  *instance
	child Child
	err   error
}

func (m spawnMsg) apply(c *core) { c.spawnDone(m.inst, m.child, m.err) }

// New builds a Supervisor for cfg's groups. log receives supervisord's
// process messages (nil discards them); host performs every OS action (nil
// makes every spawn fail): New asks it for each process's log files.
// Nothing runs until Run.
func New(cfg *config.Config, host Host, log *slog.Logger) *Supervisor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if host == nil {
		host = noHost{}
	}
	s := &Supervisor{
		host:    host,
		log:     log,
		inbox:   make(chan message, 256),
		done:    make(chan struct{}),
		started: make(chan struct{}, 1),
		spawns:  newSpawnQueue(host),
	}
	s.life, s.lifeDone = context.WithCancel(context.Background())
	s.core = newCore(s)
	if cfg != nil {
		s.core.bulk = true
		for _, g := range cfg.Groups {
			s.core.addGroup(g, false)
		}
		s.core.bulk = false
		s.core.orderDeps()
	}
	return s
}

// Run is the owner goroutine. It publishes PROCESS_GROUP_ADDED for every
// group and SUPERVISOR_STATE_CHANGE_RUNNING, spawns the autostart processes
// in ascending (group priority, name) / (priority, name) order and then
// serves messages until a Shutdown or Restart has stopped every process
// (returning nil or ErrRestart), or until ctx is done (returning ctx.Err()
// at once and leaving children as they are). Run may be called only once.
func (s *Supervisor) Run(ctx context.Context) error {
	select {
	case s.started <- struct{}{}:
	default:
		return errors.New("supervisor: Run called twice")
	}
	defer close(s.done)
	defer s.lifeDone()
	c := s.core
	c.startup()

	rt := time.NewTimer(time.Hour)
	rt.Stop()
	var armedAt time.Time // deadline rt is armed for; zero when stopped
	for !c.finished {
		var tc <-chan time.Time
		if len(c.timers) > 0 {
			at := c.timers[0].at
			if !at.Equal(armedAt) {
				rt.Reset(time.Until(at))
				armedAt = at
			}
			tc = rt.C
		} else if !armedAt.IsZero() {
			rt.Stop()
			armedAt = time.Time{}
		}
		select {
		case m := <-s.inbox:
			m.apply(c)
		case <-tc:
			armedAt = time.Time{}
			c.fireDue(time.Now())
		case <-ctx.Done():
			rt.Stop()
			return ctx.Err()
		}
		c.settle()
	}
	rt.Stop()
	return c.exitErr
}

// Done is closed when Run has returned.
func (s *Supervisor) Done() <-chan struct{} { return s.done }

// Exited reports that the reaper collected pid with status. It is meant for
// the daemon's single reaper goroutine; an exit may arrive before the spawn
// result of that pid and is matched when it does. Exits of pids drover never
// spawned (orphans re-parented to the subreaper) are logged and dropped.
// After Run returned, Exited returns at once.
func (s *Supervisor) Exited(pid int, status syscall.WaitStatus) {
	select {
	case s.inbox <- exitMsg{pid, status}:
	case <-s.done:
	}
}

// Observe makes fn see every event, in order, on the owner goroutine, from
// now on (nil stops it). Nothing is dropped and no buffer is reserved, so
// fn must not block: it queues the event for its own goroutine (the event
// listener dispatcher does).
func (s *Supervisor) Observe(fn func(Event)) {
	s.bus.mu.Lock()
	s.bus.observer = fn
	s.bus.mu.Unlock()
}

// send delivers m to the owner goroutine.
func (s *Supervisor) send(ctx context.Context, m message) error {
	select {
	case s.inbox <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return fault(CodeShutdownState, "")
	}
}

// res is a reply: a value and an error.
type res[T any] struct {
	v   T
	err error
}

// call runs fn on the owner goroutine and waits for the reply it sends (at
// most once) on reply. If ctx ends first, the waiter w (if fn registered
// it) is cancelled so a dropped client leaks nothing.
func call[T any](s *Supervisor, ctx context.Context, fn func(c *core, w *waiter, reply chan<- res[T])) (T, error) {
	reply := make(chan res[T], 1)
	w := &waiter{}
	var zero T
	if err := s.send(ctx, reqFunc(func(c *core) { fn(c, w, reply) })); err != nil {
		return zero, err
	}
	select {
	case r := <-reply:
		return r.v, r.err
	case <-ctx.Done():
		select {
		case s.inbox <- reqFunc(func(c *core) { c.removeWaiter(w) }):
		case <-s.done:
		}
		return zero, ctx.Err()
	case <-s.done:
		select {
		case r := <-reply:
			return r.v, r.err
		default:
			return zero, fault(CodeShutdownState, "")
		}
	}
}

// groupLess orders groups by (priority, name), supervisord's start order.
func groupLess(x, y *group) bool {
	a, b := x.cfg, y.cfg
	if a.Priority != b.Priority {
		return a.Priority < b.Priority
	}
	return a.Name < b.Name
}

func sortGroups(gs []*group) {
	sort.Slice(gs, func(i, j int) bool { return groupLess(gs[i], gs[j]) })
}

// sortProcs orders processes by (priority, name).
func sortProcs(ps []*proc) {
	sort.Slice(ps, func(i, j int) bool {
		a, b := ps[i].cfg, ps[j].cfg
		if a.Priority != b.Priority {
			return a.Priority < b.Priority
		}
		return a.Name < b.Name
	})
}
