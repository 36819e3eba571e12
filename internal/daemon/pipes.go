package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/logfile"
	"github.com/drover-sh/drover/internal/supervisor"
	"golang.org/x/sys/unix"
)

// childPipes are one spawn's stdio pipes: the child's ends go to the child,
// the parent keeps stdin's write end and hands the read ends to the pump.
type childPipes struct {
	childStdin, childStdout, childStderr *os.File
	stdin                                *os.File // parent's write end
	// stdout and stderr are the parent's read ends, raw, non-blocking and
	// close-on-exec, for logfile.Pump.AddFD; -1 when none (stderr with
	// redirect_stderr, or once handed over).
	stdout, stderr int
}

// openPipes makes the three pipes with pipe2(O_CLOEXEC|O_NONBLOCK) and
// clears O_NONBLOCK on the child's ends only (each end of a pipe has its
// own flags): per pipe 5-6 system calls instead of the ~13 that os.Pipe,
// Fd() and the pump's duplicate made (poller registration, blocking mode
// and back, dup, close).
func (h *host) openPipes(p *config.Process) (*childPipes, error) {
	c := &childPipes{stdout: -1, stderr: -1}
	var err error
	// stdin: the child reads (blocking); the parent's end stays
	// non-blocking, so os.NewFile makes it pollable and a full pipe blocks
	// only the writing goroutine (sendProcessStdin).
	var rd, wr int
	if rd, wr, err = pipe(); err != nil {
		return nil, err
	}
	if err = setBlocking(rd); err != nil {
		closeFDs(rd, wr)
		return nil, err
	}
	c.childStdin, c.stdin = os.NewFile(uintptr(rd), "|0"), os.NewFile(uintptr(wr), "|0")
	if c.stdout, c.childStdout, err = outPipe("|1"); err != nil {
		c.closeChildEnds()
		c.closeParentEnds()
		return nil, err
	}
	if p.RedirectStderr {
		c.childStderr = c.childStdout
		return c, nil
	}
	if c.stderr, c.childStderr, err = outPipe("|2"); err != nil {
		c.closeChildEnds()
		c.closeParentEnds()
		return nil, err
	}
	return c, nil
}

// outPipe is an output pipe: the parent's raw non-blocking read end and
// the child's blocking write end.
func outPipe(name string) (int, *os.File, error) {
	rd, wr, err := pipe()
	if err != nil {
		return -1, nil, err
	}
	if err := setBlocking(wr); err != nil {
		closeFDs(rd, wr)
		return -1, nil, err
	}
	return rd, os.NewFile(uintptr(wr), name), nil
}

func pipe() (rd, wr int, err error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return -1, -1, fmt.Errorf("pipe2: %w", err)
	}
	return fds[0], fds[1], nil
}

// setBlocking clears O_NONBLOCK (and the other F_SETFL flags, none of which
// a new pipe end has) with one fcntl.
func setBlocking(fd int) error {
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, 0); err != nil {
		return fmt.Errorf("fcntl: %w", err)
	}
	return nil
}

func closeFDs(fds ...int) {
	for _, fd := range fds {
		if fd >= 0 {
			_ = unix.Close(fd)
		}
	}
}

func (c *childPipes) closeChildEnds() {
	for _, f := range []*os.File{c.childStdin, c.childStdout, c.childStderr} {
		if f != nil {
			f.Close() // with redirect_stderr stderr is stdout: the second Close is a no-op error
		}
	}
}

func (c *childPipes) closeParentEnds() {
	if c.stdin != nil {
		c.stdin.Close()
	}
	closeFDs(c.stdout, c.stderr)
	c.stdout, c.stderr = -1, -1
}

// pumpOutput hands the read ends to the log pump with the process's log
// files (logs: Host.Logs's paths). A file that cannot be opened keeps no
// log (and says so once); the child runs regardless, as logging must never
// stop a program. hook, when set, sees every chunk of output (a log-line
// readiness probe).
func (h *host) pumpOutput(p *config.Process, logs supervisor.Logs, pid int, c *childPipes, hook func([]byte)) (out pumped) {
	out.stdout = h.pumpOne(p, pid, c.stdout, "stdout", p.Stdout, logs.Stdout, hook)
	if c.stderr >= 0 {
		out.stderr = h.pumpOne(p, pid, c.stderr, "stderr", p.Stderr, logs.Stderr, hook)
	}
	c.stdout, c.stderr = -1, -1 // the pump owns them now
	return out
}

// pumped are the pump's handles of a child's output pipes (0: none), which
// an in-place upgrade maps to the pipes' fds (Pump.Suspend).
type pumped struct{ stdout, stderr logfile.Handle }

// pumpOne hands the read end fd to the pump, which owns it from then on,
// and returns its handle (0 when the pump refused it).
func (h *host) pumpOne(p *config.Process, pid, fd int, channel string, t config.LogTarget, path string, hook func([]byte)) logfile.Handle {
	var w *logfile.Writer
	if path != "" {
		var err error
		if w, err = h.files.Acquire(path, t.MaxBytes, t.Backups); err != nil {
			h.log.Error(fmt.Sprintf("could not open log for '%s': %v", p.Name, err))
		} else if t.Rotate != "" {
			w.RotateEvery(rotatePeriod(t.Rotate))
		}
	}
	sink := logfile.Sink{
		Name:            p.Name,
		Log:             w,
		StripANSI:       h.sd.StripANSI,
		CaptureMaxBytes: int(t.CaptureMaxBytes),
	}
	if w != nil && t.Format.On() {
		sink.Format = &logfile.LineFormat{JSON: t.Format.JSON, Layout: t.Format.TimeLayout, Unix: t.Format.UnixTime, Stream: channel}
	}
	if t.Syslog {
		sink.Syslog = h.syslogW()
	}
	h.consoleSink(&sink, p, channel)
	// At loglevel=debug and below supervisord copies every read of child
	// output into the main log; decided once per pipe, not per read.
	if h.log.Enabled(context.Background(), slog.LevelDebug) {
		name := p.Name
		sink.OnLog = func(data []byte) {
			h.log.Debug(logfile.ChildOutputMessage(name, channel, data))
		}
	}
	if hook != nil {
		addHook(&sink, hook)
	}
	h.eventHooks(&sink, p, pid, channel, t)
	if w != nil {
		sink.OnClosed = func() { h.files.Release(path) }
	}
	hd, err := h.pump.AddFD(fd, p.Name+" "+channel, sink)
	if err != nil {
		h.log.Error(fmt.Sprintf("could not capture output of '%s': %v", p.Name, err))
		if w != nil {
			h.files.Release(path)
		}
	}
	return hd
}

// rotatePeriod is <stream>_logfile_rotate as the Writer's Period.
func rotatePeriod(v string) logfile.Period {
	switch v {
	case "hourly":
		return logfile.Hourly
	case "daily":
		return logfile.Daily
	}
	return logfile.NoPeriod
}
