package supervisor

import (
	"context"
	"io"
	"strings"
	"syscall"

	"github.com/drover-sh/drover/internal/config"
)

// ParseName splits a supervisord namespec: "name" is process name of group
// name; "group:name" is one process; "group:*" and "group:" name the whole
// group (isGroup). Single-process methods answer BAD_NAME for group forms:
// the RPC layer dispatches those to the group methods, as supervisord does.
func ParseName(spec string) (group, name string, isGroup bool) {
	g, n, ok := strings.Cut(spec, ":")
	if !ok {
		return spec, spec, false
	}
	if n == "" || n == "*" {
		return g, "", true
	}
	return g, n, false
}

func namespec(p *proc) string {
	if p.group.name == p.cfg.Name {
		return p.cfg.Name
	}
	return p.group.name + ":" + p.cfg.Name
}

// lookup resolves a process namespec.
func (c *core) lookup(spec string) (*proc, error) {
	gname, pname, isGroup := ParseName(spec)
	g := c.groups[gname]
	if g == nil || isGroup {
		return nil, fault(CodeBadName, spec)
	}
	p := g.byName[pname]
	if p == nil {
		return nil, fault(CodeBadName, spec)
	}
	return p, nil
}

func (c *core) lookupGroup(name string) (*group, error) {
	g := c.groups[name]
	if g == nil {
		return nil, fault(CodeBadName, name)
	}
	return g, nil
}

func (c *core) checkRunning() error {
	if c.state != StateRunning {
		return fault(CodeShutdownState, "")
	}
	return nil
}

// startOne applies startProcess's checks and starts p.
func (c *core) startOne(p *proc) error {
	switch {
	case p.state.IsRunning():
		return fault(CodeAlreadyStarted, namespec(p))
	case p.state == Unknown:
		return fault(CodeFailed, namespec(p)+" is in an unknown process state")
	case p.state == Stopping:
		return fault(CodeFailed, namespec(p)+" is stopping")
	}
	c.handle(p, event{kind: evStart})
	return nil
}

// startOutcome tells whether a start request for p has its answer: without
// wait once the spawn result is in, with wait once p is RUNNING or failed
// (SPAWN_ERROR if spawnerr is set, ABNORMAL_TERMINATION if it left
// STARTING/RUNNING without one), exactly as supervisord's onwait.
func startOutcome(p *proc, wait bool) (bool, error) {
	if !wait {
		if p.cur != nil && p.cur.pid == 0 {
			return false, nil
		}
		if p.spawnerr != "" {
			return true, fault(CodeSpawnError, namespec(p))
		}
		return true, nil
	}
	if p.spawnerr != "" {
		return true, fault(CodeSpawnError, namespec(p))
	}
	switch p.state {
	case Running:
		return true, nil
	case Starting:
		return false, nil
	}
	return true, fault(CodeAbnormalTermination, namespec(p))
}

// StartProcess starts one process (startProcess). Without wait it replies
// when the spawn result is known; with wait when the process is RUNNING.
// Faults: BAD_NAME, ALREADY_STARTED, FAILED (UNKNOWN state), SPAWN_ERROR,
// ABNORMAL_TERMINATION, SHUTDOWN_STATE.
func (s *Supervisor) StartProcess(ctx context.Context, name string, wait bool) error {
	pc, err := call(s, ctx, func(c *core, _ *waiter, reply chan<- res[*config.Process]) {
		err := c.checkRunning()
		var p *proc
		if err == nil {
			p, err = c.lookup(name)
		}
		if err != nil {
			reply <- res[*config.Process]{err: err}
			return
		}
		reply <- res[*config.Process]{v: p.cfg}
	})
	if err != nil {
		return err
	}
	if err := s.host.Resolve(pc); err != nil {
		return resolveFault(err)
	}
	_, err = call(s, ctx, func(c *core, w *waiter, reply chan<- res[struct{}]) {
		err := c.checkRunning()
		var p *proc
		if err == nil {
			p, err = c.lookup(name)
		}
		if err == nil {
			err = c.startOne(p)
		}
		if err != nil {
			reply <- res[struct{}]{err: err}
			return
		}
		c.addWaiter(w, func(c *core) bool {
			done, err := startOutcome(p, wait)
			if done {
				reply <- res[struct{}]{err: err}
			}
			return done
		})
	})
	return err
}

// StopProcess stops one process (stopProcess): NOT_RUNNING unless it is
// STARTING, RUNNING or BACKOFF; FAILED if the kill failed. With wait it
// replies once the process is in a stopped state. A stop of a process whose
// spawn is still in flight is delivered as soon as its pid is known.
func (s *Supervisor) StopProcess(ctx context.Context, name string, wait bool) error {
	_, err := call(s, ctx, func(c *core, w *waiter, reply chan<- res[struct{}]) {
		err := c.checkRunning()
		var p *proc
		if err == nil {
			p, err = c.lookup(name)
		}
		if err == nil {
			err = c.stopOne(p)
		}
		if err != nil || !wait {
			reply <- res[struct{}]{err: err}
			return
		}
		c.addWaiter(w, func(c *core) bool {
			if p.state.IsStopped() {
				reply <- res[struct{}]{}
				return true
			}
			return false
		})
	})
	return err
}

func (c *core) stopOne(p *proc) error {
	if !p.state.IsRunning() {
		if p.retryPending() {
			// A delayed crash-loop restart is pending: the user wants it gone.
			return c.handle(p, event{kind: evStop})
		}
		if c.ungate(p) {
			return nil // held by depends_on: the hold is what stops
		}
		return fault(CodeNotRunning, namespec(p))
	}
	return c.handle(p, event{kind: evStop})
}

func validSignal(sig syscall.Signal) error {
	if sig <= 0 || sig > 64 {
		return fault(CodeBadSignal, signame(sig))
	}
	return nil
}

// SignalProcess sends sig to one process (signalProcess): BAD_SIGNAL,
// NOT_RUNNING unless STARTING, RUNNING or STOPPING, FAILED on error.
func (s *Supervisor) SignalProcess(ctx context.Context, name string, sig syscall.Signal) error {
	_, err := call(s, ctx, func(c *core, _ *waiter, reply chan<- res[struct{}]) {
		err := c.checkRunning()
		var p *proc
		if err == nil {
			p, err = c.lookup(name)
		}
		if err == nil {
			err = validSignal(sig)
		}
		if err == nil && !p.state.IsSignallable() {
			err = fault(CodeNotRunning, namespec(p))
		}
		if err == nil {
			err = c.signal(p, sig)
		}
		reply <- res[struct{}]{err: err}
	})
	return err
}

// procsOf returns the processes of the named group, or of every group in
// start order when all is set.
func (c *core) procsOf(name string, all bool) ([]*proc, error) {
	if err := c.checkRunning(); err != nil {
		return nil, err
	}
	if !all {
		g, err := c.lookupGroup(name)
		if err != nil {
			return nil, err
		}
		return g.procs, nil
	}
	var ps []*proc
	for _, g := range c.order {
		ps = append(ps, g.procs...)
	}
	return ps, nil
}

// startMany is startProcessGroup / startAllProcesses: every process not in
// a running state is started at once in ascending order; the reply comes
// when each has its outcome.
func (s *Supervisor) startMany(ctx context.Context, name string, all, wait bool) ([]Result, error) {
	var refused map[*config.Process]error
	cands, err := call(s, ctx, func(c *core, _ *waiter, reply chan<- res[[]*config.Process]) {
		ps, err := c.procsOf(name, all)
		var out []*config.Process
		for _, p := range ps {
			if !p.state.IsRunning() {
				out = append(out, p.cfg)
			}
		}
		reply <- res[[]*config.Process]{v: out, err: err}
	})
	if err != nil {
		return nil, err
	}
	for _, pc := range cands {
		if err := s.host.Resolve(pc); err != nil {
			if refused == nil {
				refused = make(map[*config.Process]error)
			}
			refused[pc] = resolveFault(err)
		}
	}
	return call(s, ctx, func(c *core, w *waiter, reply chan<- res[[]Result]) {
		ps, err := c.procsOf(name, all)
		if err != nil {
			reply <- res[[]Result]{err: err}
			return
		}
		var results []Result
		var pending []*proc
		var slot []int
		for _, p := range ps {
			if p.state.IsRunning() {
				continue
			}
			if err := refused[p.cfg]; err != nil {
				results = append(results, errResult(p, err))
				continue
			}
			if err := c.startOne(p); err != nil {
				results = append(results, errResult(p, err))
				continue
			}
			slot = append(slot, len(results))
			results = append(results, Result{})
			pending = append(pending, p)
		}
		c.addWaiter(w, func(c *core) bool {
			done := true
			for i, p := range pending {
				if p == nil {
					continue
				}
				ok, err := startOutcome(p, wait)
				if !ok {
					done = false
					continue
				}
				if err != nil {
					results[slot[i]] = errResult(p, err)
				} else {
					results[slot[i]] = okResult(p)
				}
				pending[i] = nil
			}
			if done {
				reply <- res[[]Result]{v: results}
			}
			return done
		})
	})
}

// StartGroup is startProcessGroup: BAD_NAME, or one Result per process that
// was not running (OK, SPAWN_ERROR, ABNORMAL_TERMINATION, FAILED).
func (s *Supervisor) StartGroup(ctx context.Context, name string, wait bool) ([]Result, error) {
	return s.startMany(ctx, name, false, wait)
}

// StartAll is startAllProcesses over every group in ascending order.
func (s *Supervisor) StartAll(ctx context.Context, wait bool) ([]Result, error) {
	return s.startMany(ctx, "", true, wait)
}

// StopGroup is stopProcessGroup: every process in a running state is
// signalled at once in ascending order; with wait the reply comes when all
// are stopped. Results are OK or FAILED.
func (s *Supervisor) StopGroup(ctx context.Context, name string, wait bool) ([]Result, error) {
	return call(s, ctx, func(c *core, w *waiter, reply chan<- res[[]Result]) {
		ps, err := c.procsOf(name, false)
		if err != nil {
			reply <- res[[]Result]{err: err}
			return
		}
		var results []Result
		for _, p := range ps {
			if !p.state.IsRunning() && !p.retryPending() && p.waiting == "" {
				continue
			}
			if err := c.stopOne(p); err != nil {
				results = append(results, errResult(p, err))
			} else {
				results = append(results, okResult(p))
			}
		}
		if !wait {
			reply <- res[[]Result]{v: results}
			return
		}
		c.addWaiter(w, func(c *core) bool {
			for _, p := range ps {
				if !p.state.IsStopped() {
					return false
				}
			}
			reply <- res[[]Result]{v: results}
			return true
		})
	})
}

// signalMany is signalProcessGroup / signalAllProcesses over signallable
// processes.
func (s *Supervisor) signalMany(ctx context.Context, name string, all bool, sig syscall.Signal) ([]Result, error) {
	return call(s, ctx, func(c *core, _ *waiter, reply chan<- res[[]Result]) {
		var ps []*proc
		var err error
		if all {
			// signalAllProcesses checks the daemon state only after it has
			// signalled (supervisord 4.2), so it reaches processes during a
			// shutdown too and then answers SHUTDOWN_STATE.
			for _, g := range c.order {
				ps = append(ps, g.procs...)
			}
		} else {
			ps, err = c.procsOf(name, false)
		}
		if err == nil {
			err = validSignal(sig)
		}
		if err != nil {
			reply <- res[[]Result]{err: err}
			return
		}
		var results []Result
		for _, p := range ps {
			if !p.state.IsSignallable() {
				continue
			}
			if err := c.signal(p, sig); err != nil {
				results = append(results, errResult(p, err))
			} else {
				results = append(results, okResult(p))
			}
		}
		reply <- res[[]Result]{v: results, err: c.checkRunning()}
	})
}

// SignalGroup is signalProcessGroup: BAD_NAME, BAD_SIGNAL, or one Result
// per signallable process.
func (s *Supervisor) SignalGroup(ctx context.Context, name string, sig syscall.Signal) ([]Result, error) {
	return s.signalMany(ctx, name, false, sig)
}

// SignalAll is signalAllProcesses. During a shutdown it still signals and
// then answers SHUTDOWN_STATE, as supervisord does.
func (s *Supervisor) SignalAll(ctx context.Context, sig syscall.Signal) ([]Result, error) {
	return s.signalMany(ctx, "", true, sig)
}

// Stdin returns where sendProcessStdin writes for one process: its
// Child's stdin, written on the caller's goroutine (a program that does
// not read blocks its writer, never the owner). BAD_NAME; NOT_RUNNING
// without a pid or while STOPPING; NO_FILE when the running process has
// no stdin of drover's (a followed re-exec'd master).
func (s *Supervisor) Stdin(ctx context.Context, name string) (io.Writer, error) {
	return call(s, ctx, func(c *core, _ *waiter, reply chan<- res[io.Writer]) {
		p, err := c.lookup(name)
		switch {
		case err != nil:
		case p.cur == nil || p.cur.pid == 0 || p.state == Stopping:
			err = fault(CodeNotRunning, name)
		case p.cur.liveChild() == nil || p.cur.child.Stdin() == nil:
			err = fault(CodeNoFile, name)
		}
		if err != nil {
			reply <- res[io.Writer]{err: err}
			return
		}
		reply <- res[io.Writer]{v: p.cur.child.Stdin()}
	})
}

// State returns the daemon state (getState).
func (s *Supervisor) State(ctx context.Context) (SupervisorState, error) {
	return call(s, ctx, func(c *core, _ *waiter, reply chan<- res[SupervisorState]) {
		reply <- res[SupervisorState]{v: c.state}
	})
}
