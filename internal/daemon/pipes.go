package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"log/syslog"
	"os"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/logfile"
)

// childPipes are one spawn's stdio pipes: the child's ends go to the child,
// the parent keeps stdin's write end and hands the read ends to the pump.
type childPipes struct {
	childStdin, childStdout, childStderr *os.File
	stdin, stdout, stderr                *os.File // parent ends; stderr nil with redirect_stderr
}

func (h *osHost) openPipes(p *config.Process) (*childPipes, error) {
	var c childPipes
	var err error
	if c.childStdin, c.stdin, err = os.Pipe(); err != nil {
		return nil, err
	}
	if c.stdout, c.childStdout, err = os.Pipe(); err != nil {
		c.closeChildEnds()
		c.closeParentEnds()
		return nil, err
	}
	if p.RedirectStderr {
		c.childStderr = c.childStdout
		return &c, nil
	}
	if c.stderr, c.childStderr, err = os.Pipe(); err != nil {
		c.closeChildEnds()
		c.closeParentEnds()
		return nil, err
	}
	return &c, nil
}

func (c *childPipes) closeChildEnds() {
	for _, f := range []*os.File{c.childStdin, c.childStdout, c.childStderr} {
		if f != nil {
			f.Close() // with redirect_stderr stderr is stdout: the second Close is a no-op error
		}
	}
}

func (c *childPipes) closeParentEnds() {
	for _, f := range []*os.File{c.stdin, c.stdout, c.stderr} {
		if f != nil {
			f.Close()
		}
	}
}

// pumpOutput hands the read ends to the log pump with the process's log
// targets. A target that cannot be opened keeps no file (and says so once);
// the child runs regardless, as logging must never stop a program.
// hook, when set, sees every chunk of output (a log-line readiness probe).
func (h *osHost) pumpOutput(p *config.Process, c *childPipes, hook func([]byte)) {
	h.pumpOne(p, c.stdout, "stdout", p.Stdout, hook)
	if c.stderr != nil {
		h.pumpOne(p, c.stderr, "stderr", p.Stderr, hook)
	}
}

func (h *osHost) pumpOne(p *config.Process, r *os.File, channel string, t config.LogTarget, hook func([]byte)) {
	w, err := h.acquire(t)
	if err != nil {
		h.log.Error(fmt.Sprintf("could not open log for '%s': %v", p.Name, err))
	}
	sink := logfile.Sink{
		Name:            p.Name,
		Log:             w,
		StripANSI:       h.sd.StripANSI,
		CaptureMaxBytes: int(t.CaptureMaxBytes),
	}
	if t.Syslog {
		sink.Syslog = h.syslogWriter()
	}
	// At loglevel=debug and below supervisord copies every read of child
	// output into the main log; decided once per pipe, not per read.
	if h.log.Enabled(context.Background(), slog.LevelDebug) {
		name := p.Name
		sink.OnLog = func(data []byte) {
			h.log.Debug(logfile.ChildOutputMessage(name, channel, data))
		}
	}
	if hook != nil {
		if debug := sink.OnLog; debug != nil {
			sink.OnLog = func(data []byte) { debug(data); hook(data) }
		} else {
			sink.OnLog = hook
		}
	}
	if w != nil {
		path := t.Path
		sink.OnClosed = func() { h.release(path) }
	}
	if _, err := h.pump.Add(r, sink); err != nil {
		h.log.Error(fmt.Sprintf("could not capture output of '%s': %v", p.Name, err))
		if w != nil {
			h.release(t.Path)
		}
	}
}

// syslogWriter returns the shared syslog connection for *_syslog=true, or
// nil when the machine has no syslog (reported once).
func (h *osHost) syslogWriter() io.Writer {
	h.syslogOnce.Do(func() {
		w, err := syslog.New(syslog.LOG_INFO|syslog.LOG_USER, "")
		if err != nil {
			h.log.Warn(fmt.Sprintf("syslog unavailable, *_syslog output is dropped: %v", err))
			return
		}
		h.syslogW = w
	})
	if h.syslogW == nil {
		return nil // a nil *syslog.Writer in an io.Writer would not be nil
	}
	return h.syslogW
}
