package logfile

import (
	"context"
	"errors"
	"io"
	"log/slog"
)

// LevelFromNumber converts supervisord's numeric log level (config's
// LogLevel: 3 blather, 5 trace, 10 debug, 20 info, 30 warn, 40 error,
// 50 critical) to the slog level of the same name; numbers in between
// round down to the next named level, as supervisord compares numbers.
func LevelFromNumber(n int) slog.Level {
	switch {
	case n >= 50:
		return LevelCritical
	case n >= 40:
		return LevelError
	case n >= 30:
		return LevelWarn
	case n >= 20:
		return LevelInfo
	case n >= 10:
		return LevelDebug
	case n >= 5:
		return LevelTrace
	}
	return LevelBlather
}

// MainLogConfig is the [supervisord] logging setup.
type MainLogConfig struct {
	// Path is the logfile; "syslog" sends the log to Syslog instead.
	Path     string
	MaxBytes int64 // logfile_maxbytes; 0 disables rotation
	Backups  int   // logfile_backups
	Level    slog.Leveler
	// Stdout, when set, receives every line too (nodaemon and not silent).
	Stdout io.Writer
	// Syslog is required when Path is "syslog" (a *log/syslog.Writer).
	Syslog io.Writer
}

// MainLog is the daemon's main log.
type MainLog struct {
	// Logger writes supervisord's format to every destination.
	Logger *slog.Logger
	// File is the rotating file; nil with logfile=syslog. Reopen it on
	// SIGUSR2; clearLog removes Path and calls File.Reopen.
	File *Writer
}

// ErrNoSyslog means logfile=syslog was asked for without a syslog writer.
var ErrNoSyslog = errors.New("logfile=syslog needs a syslog writer")

// OpenMainLog opens the main log. The file Writer reports its own write
// failures through the main log itself (once per outage, so this cannot
// loop), which also reaches Stdout when that is set.
func OpenMainLog(c MainLogConfig) (*MainLog, error) {
	opts := HandlerOptions{Level: c.Level, Stdout: c.Stdout}
	if c.Path == "syslog" {
		if c.Syslog == nil {
			return nil, ErrNoSyslog
		}
		opts.Syslog = c.Syslog
		return &MainLog{Logger: slog.New(NewHandler(opts))}, nil
	}
	self := &selfHandler{}
	w, err := OpenWriter(c.Path, c.MaxBytes, c.Backups, slog.New(self))
	if err != nil {
		return nil, err
	}
	opts.File = w
	h := NewHandler(opts)
	self.h = h
	return &MainLog{Logger: slog.New(h), File: w}, nil
}

// selfHandler lets the file Writer log through the Handler built on it.
type selfHandler struct{ h *Handler }

func (s *selfHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return s.h != nil && s.h.Enabled(ctx, l)
}
func (s *selfHandler) Handle(ctx context.Context, r slog.Record) error { return s.h.Handle(ctx, r) }
func (s *selfHandler) WithAttrs(a []slog.Attr) slog.Handler            { return s.h.WithAttrs(a) }
func (s *selfHandler) WithGroup(n string) slog.Handler                 { return s.h.WithGroup(n) }
