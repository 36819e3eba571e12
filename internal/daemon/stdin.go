package daemon

import (
	"errors"
	"os"
	"time"
)

// stdinTimeout bounds one sendProcessStdin write: a program that does not
// read its stdin makes the call fail instead of hold the caller, and the
// data, for ever.
const stdinTimeout = 5 * time.Second

// errStdinBusy: another sendProcessStdin to the same process is under way.
var errStdinBusy = errors.New("another write to its stdin is under way")

// stdinWriter is a child's stdin as the control API writes it: one write
// at a time (the others fail at once, so waiting callers cannot pile up
// their data), each bounded by stdinTimeout. The pipe's end is
// non-blocking, so the deadline parks the write in Go's poller.
type stdinWriter struct {
	f    *os.File
	busy chan struct{}
}

func newStdinWriter(f *os.File) *stdinWriter {
	return &stdinWriter{f: f, busy: make(chan struct{}, 1)}
}

// Write writes all of p or fails: errStdinBusy, an error wrapping
// os.ErrDeadlineExceeded when the program did not read it in time, or the
// pipe's error (closed, EPIPE).
func (w *stdinWriter) Write(p []byte) (int, error) {
	select {
	case w.busy <- struct{}{}:
	default:
		return 0, errStdinBusy
	}
	defer func() { <-w.busy }()
	if err := w.f.SetWriteDeadline(time.Now().Add(stdinTimeout)); err != nil {
		return 0, err
	}
	return w.f.Write(p)
}
