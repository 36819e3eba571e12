package logfile

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Levels beyond slog's four, on slog's scale, so that supervisord's seven
// levels (BLAT < TRAC < DEBG < INFO < WARN < ERRO < CRIT) map one to one.
const (
	LevelBlather  = slog.Level(-12)
	LevelTrace    = slog.Level(-8)
	LevelDebug    = slog.LevelDebug
	LevelInfo     = slog.LevelInfo
	LevelWarn     = slog.LevelWarn
	LevelError    = slog.LevelError
	LevelCritical = slog.Level(12)
)

// LevelName returns supervisord's four-letter name for l: each name covers
// the levels from its own up to the next one (so slog.Level(2) is INFO).
func LevelName(l slog.Level) string {
	switch {
	case l >= LevelCritical:
		return "CRIT"
	case l >= LevelError:
		return "ERRO"
	case l >= LevelWarn:
		return "WARN"
	case l >= LevelInfo:
		return "INFO"
	case l >= LevelDebug:
		return "DEBG"
	case l >= LevelTrace:
		return "TRAC"
	}
	return "BLAT"
}

// HandlerOptions says where the main log goes. Every destination is
// optional; a Handler with none discards records.
type HandlerOptions struct {
	// Level is the minimum level written; nil means LevelInfo.
	Level slog.Leveler
	// File receives each record as one line (logfile=PATH); nil for none.
	File io.Writer
	// Stdout receives the same lines (nodaemon and not silent); nil for none.
	Stdout io.Writer
	// Syslog receives each line of the message as one Write
	// (logfile=syslog), formatted like the file lines, as supervisord does;
	// a *log/syslog.Writer fits. nil for none.
	Syslog io.Writer
}

// Handler is a slog.Handler writing supervisord's main-log line format
// `YYYY-MM-DD HH:MM:SS,mmm LEVEL message` followed by ` key=value` for each
// attribute (group names prefix keys as `group.key`). The time is the
// record's, in its own location (slog uses local time, as supervisord).
// Each record is written to each destination with a single Write, so a
// line is never interleaved with another (the destinations must make a
// single Write atomic, as Writer and os.File do). It is safe for concurrent
// use.
type Handler struct {
	opts   HandlerOptions
	prefix string // pre-rendered attributes from WithAttrs
	group  string // current group prefix, "a.b." form
}

// NewHandler returns a Handler for opts.
func NewHandler(opts HandlerOptions) *Handler {
	return &Handler{opts: opts}
}

// Enabled reports whether l is at or above the configured minimum.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool {
	min := slog.LevelInfo
	if h.opts.Level != nil {
		min = h.opts.Level.Level()
	}
	return l >= min
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// Handle formats r and writes it to every destination. Write errors are
// not returned: the file Writer counts its own drops, and a log call must
// not fail the caller.
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	bp := bufPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 64<<10 {
			bufPool.Put(bp)
		}
	}()
	b := appendTime((*bp)[:0], r.Time)
	b = append(b, ' ')
	b = append(b, LevelName(r.Level)...)
	b = append(b, ' ')
	head := len(b)
	b = append(b, r.Message...)
	b = append(b, h.prefix...)
	r.Attrs(func(a slog.Attr) bool {
		b = appendAttr(b, h.group, a)
		return true
	})
	b = append(b, '\n')
	*bp = b

	// No lock is held while writing: the file Writer may report its own
	// failure through this very handler (it does so once per outage).
	if h.opts.File != nil {
		_, _ = h.opts.File.Write(b)
	}
	if h.opts.Stdout != nil {
		_, _ = h.opts.Stdout.Write(b)
	}
	if h.opts.Syslog != nil {
		// supervisord's SyslogHandler sends each message line separately,
		// each with the full format.
		msg := bytes.TrimRight(b[head:], "\n")
		for line := range bytes.SplitSeq(msg, []byte{'\n'}) {
			out := make([]byte, 0, head+len(line)+1)
			out = append(out, b[:head]...)
			out = append(out, line...)
			out = append(out, '\n')
			_, _ = h.opts.Syslog.Write(out)
		}
	}
	return nil
}

// WithAttrs returns a Handler that appends attrs to every record.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := *h
	b := []byte(h.prefix)
	for _, a := range attrs {
		b = appendAttr(b, h.group, a)
	}
	h2.prefix = string(b)
	return &h2
}

// WithGroup returns a Handler that prefixes later attribute keys with name.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.group = h.group + name + "."
	return &h2
}

// appendTime renders supervisord's asctime: local-format date and time
// with milliseconds after a comma.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		t = time.Now()
	}
	return t.AppendFormat(b, "2006-01-02 15:04:05,000")
}

func appendAttr(b []byte, group string, a slog.Attr) []byte {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return b
	}
	if a.Value.Kind() == slog.KindGroup {
		g := group
		if a.Key != "" {
			g += a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			b = appendAttr(b, g, ga)
		}
		return b
	}
	b = append(b, ' ')
	b = append(b, group...)
	b = append(b, a.Key...)
	b = append(b, '=')
	var s string
	switch a.Value.Kind() {
	case slog.KindString:
		s = a.Value.String()
	case slog.KindTime:
		s = a.Value.Time().Format(time.RFC3339Nano)
	default:
		s = a.Value.String()
	}
	if needsQuote(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// needsQuote reports whether s must be quoted to stay one readable token.
func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	if !utf8.ValidString(s) {
		return true
	}
	return strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r == '=' || r == '"' || r == 0x7f
	})
}
