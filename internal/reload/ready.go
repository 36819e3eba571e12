package reload

import (
	"context"
	"errors"
	"fmt"
)

// Readiness errors. Probe.Wait wraps exactly one of them, so callers match
// with errors.Is and log the message for the details.
var (
	// ErrNotReady: the context ended (normally the ready timeout) before
	// the generation was ready; the message says what the last try saw.
	ErrNotReady = errors.New("not ready")
	// ErrExited: the generation's main process exited before it was ready.
	ErrExited = errors.New("generation exited before it was ready")
	// ErrStopping: the generation announced STOPPING=1 before READY=1.
	ErrStopping = errors.New("generation is stopping")
)

// Gen is one generation as probes and the hand-off plan see it.
type Gen struct {
	// Number counts generations of a process from 1.
	Number int
	// Pid is the main process; it leads its own process group.
	Pid int
	// Exited is closed by the caller when the main process exited (the
	// daemon's reaper routes the pid's exit to it). nil means "never":
	// then probes cannot notice a crash and run until their context ends.
	Exited <-chan struct{}
	// ProbeAddr is the generation's private probe socket ("127.0.0.1:N"),
	// "" when it has none. GenProbe.Wait fills it in.
	ProbeAddr string
}

// Probe tells when a generation is ready to serve. Wait returns nil once
// it is, or an error wrapping ErrNotReady (ctx ended), ErrExited (g.Exited
// closed first) or ErrStopping. Wait never outlives ctx and leaves no
// goroutine behind when it returns.
type Probe interface {
	Wait(ctx context.Context, g Gen) error
}

// watchExit returns a context cancelled when ctx ends or g exits, and
// whether the exit caused it. stop must be called.
func watchExit(ctx context.Context, g Gen) (c context.Context, exited func() bool, stop func()) {
	c, cancel := context.WithCancelCause(ctx)
	if g.Exited == nil {
		return c, func() bool { return false }, func() { cancel(nil) }
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-g.Exited:
			cancel(ErrExited)
		case <-done:
		case <-c.Done():
		}
	}()
	return c, func() bool { return errors.Is(context.Cause(c), ErrExited) },
		func() { close(done); cancel(nil) }
}

// notReady is the error of a probe whose context ended.
func notReady(ctx context.Context, g Gen, last error) error {
	if g.Exited != nil {
		select {
		case <-g.Exited:
			return fmt.Errorf("%w (pid %d)", ErrExited, g.Pid)
		default:
		}
	}
	if last != nil {
		return fmt.Errorf("%w: %w; last try: %v", ErrNotReady, context.Cause(ctx), last)
	}
	return fmt.Errorf("%w: %w", ErrNotReady, context.Cause(ctx))
}
