package reload

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// ErrReloadInProgress is returned by Plan.Run while another Run of the same
// Plan is under way. A reload is refused rather than queued: a queued one
// would start a third generation right after the second, doubling the
// hand-off for no gain, and a caller that wants it can retry (the error is
// immediate and nothing was changed).
var ErrReloadInProgress = errors.New("a reload is already in progress")

// ErrNotExited is logged (never returned) when a killed generation's exit
// did not arrive within Timeouts.Kill.
var ErrNotExited = errors.New("generation did not exit after SIGKILL")

// Defaults for zero Timeouts fields.
const (
	DefaultReadyTimeout    = 60 * time.Second
	DefaultGracefulTimeout = 10 * time.Second
	DefaultKillWait        = 5 * time.Second
)

// Ops are the callbacks a Plan drives; Run calls them on its own goroutine,
// one at a time (Ready runs on a goroutine Run waits for).
type Ops struct {
	// Start spawns a new generation for slot (0 to numprocs-1) and returns
	// it with Exited set. On error the slot's old generation is untouched;
	// a returned Gen with a pid (the child failed before exec) is stopped.
	Start func(ctx context.Context, slot int) (Gen, error)
	// Ready waits until g serves (normally its GenProbe.Wait). ctx ends at
	// the ready timeout, and when g exits.
	Ready func(ctx context.Context, g Gen) error
	// Stop sends g its graceful-stop signal (the preset's, e.g. QUIT for
	// unicorn). An error for a process already gone is fine.
	Stop func(g Gen) error
	// Kill sends SIGKILL to g's process group.
	Kill func(g Gen) error
}

// Timeouts bound each wait of a hand-off.
type Timeouts struct {
	// Ready is how long a new generation has to get ready; 0 means
	// DefaultReadyTimeout.
	Ready time.Duration
	// Graceful is how long a generation told to stop gracefully has to
	// exit before its process group is killed; 0 means
	// DefaultGracefulTimeout.
	Graceful time.Duration
	// Kill is how long to wait for the exit after SIGKILL; 0 means
	// DefaultKillWait.
	Kill time.Duration
}

// StageError is a failed hand-off of one slot: Stage is "start" or
// "ready", Err wraps the cause (ErrNotReady, ErrExited, ErrStopping, a
// spawn error, or the context's error).
type StageError struct {
	Slot     int
	Stage    string
	Gen      int // the new generation's number, 0 if it never started
	Replaced int // slots already handed off by this Run (rolling)
	Err      error
}

func (e *StageError) Error() string {
	msg := fmt.Sprintf("reload of slot %d failed at %s", e.Slot, e.Stage)
	if e.Gen > 0 {
		msg += fmt.Sprintf(" (generation %d stopped, the old one keeps serving)", e.Gen)
	}
	if e.Replaced > 0 {
		msg += fmt.Sprintf("; %d earlier slot(s) already run the new generation", e.Replaced)
	}
	return msg + ": " + e.Err.Error()
}

func (e *StageError) Unwrap() error { return e.Err }

// Plan runs blue/green hand-offs. It is independent of the supervisor:
// the host gives it callbacks and routes exits into Gen.Exited, and may run
// it on a worker goroutine. A Plan is for one program; Run refuses to
// overlap with itself (ErrReloadInProgress).
type Plan struct {
	Ops      Ops
	Timeouts Timeouts
	// Log receives one line per step; nil: none.
	Log *slog.Logger

	running atomic.Bool
}

// Run hands off every slot in order, one at a time (a rolling reload when
// there are several processes): for each slot it starts a new generation
// on the shared sockets, waits until it is ready, then stops the old one
// gracefully, killing its group after Timeouts.Graceful. A new generation
// that fails to start, crashes or is not ready within Timeouts.Ready is
// stopped (graceful, then killed) and Run returns a *StageError: the old
// generation was never signalled and keeps serving, and the slots after it
// are not touched. An old generation that exits on its own during the
// hand-off is logged and the hand-off goes on with the new one.
//
// old[i] is slot i's running generation; a zero Gen (pid 0) means the slot
// runs nothing, and then Run only starts and waits. The result holds each
// slot's generation after Run: the new one where the hand-off succeeded,
// old[i] elsewhere. ctx cancels starting and waiting for readiness (the new
// generation is then stopped); draining an old generation is bounded by
// the timeouts only, so a cancelled Run never leaves two generations.
func (p *Plan) Run(ctx context.Context, old []Gen) ([]Gen, error) {
	if !p.running.CompareAndSwap(false, true) {
		return nil, ErrReloadInProgress
	}
	defer p.running.Store(false)
	cur := append([]Gen(nil), old...)
	for slot := range cur {
		ng, err := p.handOff(ctx, slot, cur[slot])
		if err != nil {
			err.Replaced = slot
			return cur, err
		}
		cur[slot] = ng
	}
	return cur, nil
}

func (p *Plan) log() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Log
}

// handOff replaces one slot's generation.
func (p *Plan) handOff(ctx context.Context, slot int, old Gen) (Gen, *StageError) {
	log := p.log().With("slot", slot)
	begin := time.Now()
	ng, err := p.Ops.Start(ctx, slot)
	if err != nil {
		if ng.Pid > 0 {
			p.stop(ng, log)
		}
		log.Warn("reload: new generation did not start; the old one keeps serving", "err", err)
		return Gen{}, &StageError{Slot: slot, Stage: "start", Gen: ng.Number, Err: err}
	}
	log.Info("reload: new generation started", "gen", ng.Number, "pid", ng.Pid)

	if err := p.waitReady(ctx, ng, old, log); err != nil {
		log.Warn("reload: new generation not ready; stopping it, the old one keeps serving",
			"gen", ng.Number, "pid", ng.Pid, "err", err)
		p.stop(ng, log)
		return Gen{}, &StageError{Slot: slot, Stage: "ready", Gen: ng.Number, Err: err}
	}
	log.Info("reload: new generation ready", "gen", ng.Number, "pid", ng.Pid, "after", time.Since(begin))

	if old.Pid > 0 {
		if exited(old) {
			log.Warn("reload: old generation had already exited", "gen", old.Number, "pid", old.Pid)
		} else {
			p.stop(old, log)
		}
	}
	if exited(ng) {
		log.Warn("reload: new generation exited after it was ready", "gen", ng.Number, "pid", ng.Pid)
	}
	log.Info("reload: hand-off done", "gen", ng.Number, "took", time.Since(begin))
	return ng, nil
}

// waitReady runs Ops.Ready bounded by the ready timeout and by ng's exit;
// it also notices the old generation exiting meanwhile (logged, not fatal).
func (p *Plan) waitReady(ctx context.Context, ng, old Gen, log *slog.Logger) error {
	d := cmp.Or(p.Timeouts.Ready, DefaultReadyTimeout)
	rctx, cancel := context.WithTimeoutCause(ctx, d, readyTimeout(d))
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Ops.Ready(rctx, ng) }()
	oldExit := old.Exited
	if old.Pid == 0 {
		oldExit = nil
	}
	for {
		select {
		case err := <-done:
			if err == nil && exited(ng) {
				err = fmt.Errorf("%w (pid %d)", ErrExited, ng.Pid)
			}
			if err == nil {
				return nil
			}
			if c := context.Cause(rctx); c != nil && !errors.Is(err, c) {
				err = fmt.Errorf("%w: %w", c, err)
			}
			return err
		case <-ng.Exited:
			cancel()
			<-done
			return fmt.Errorf("%w (pid %d)", ErrExited, ng.Pid)
		case <-oldExit:
			oldExit = nil
			log.Warn("reload: old generation exited during the reload; continuing with the new one",
				"gen", old.Number, "pid", old.Pid)
		}
	}
}

// stop stops g gracefully, kills its process group after the graceful
// timeout and waits (bounded) for the exit.
func (p *Plan) stop(g Gen, log *slog.Logger) {
	if exited(g) {
		return
	}
	log.Info("reload: stopping generation", "gen", g.Number, "pid", g.Pid)
	if err := p.Ops.Stop(g); err != nil {
		log.Debug("reload: stop signal", "gen", g.Number, "pid", g.Pid, "err", err)
	}
	graceful := cmp.Or(p.Timeouts.Graceful, DefaultGracefulTimeout)
	if waitExit(g, graceful) {
		log.Info("reload: generation exited", "gen", g.Number, "pid", g.Pid)
		return
	}
	log.Warn("reload: generation still running after the graceful timeout; killing its process group",
		"gen", g.Number, "pid", g.Pid, "timeout", graceful)
	if err := p.Ops.Kill(g); err != nil {
		log.Debug("reload: kill", "gen", g.Number, "pid", g.Pid, "err", err)
	}
	if !waitExit(g, cmp.Or(p.Timeouts.Kill, DefaultKillWait)) {
		log.Error("reload: generation still running", "gen", g.Number, "pid", g.Pid, "err", ErrNotExited)
	}
}

// readyTimeout is the cause of a ready wait that ran out of time; it
// matches ErrNotReady and context.DeadlineExceeded.
type readyTimeout time.Duration

func (r readyTimeout) Error() string { return "ready timeout " + time.Duration(r).String() + " passed" }

func (r readyTimeout) Is(target error) bool {
	return target == ErrNotReady || target == context.DeadlineExceeded
}

func exited(g Gen) bool {
	if g.Exited == nil {
		return false
	}
	select {
	case <-g.Exited:
		return true
	default:
		return false
	}
}

// waitExit waits up to d for g's exit.
func waitExit(g Gen, d time.Duration) bool {
	if g.Exited == nil {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-g.Exited:
		return true
	case <-t.C:
		return false
	}
}
