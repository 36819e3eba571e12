package logfile

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHandlerGolden checks supervisord's line format for every level.
func TestHandlerGolden(t *testing.T) {
	var file, stdout bytes.Buffer
	h := NewHandler(HandlerOptions{File: &file, Stdout: &stdout, Level: LevelBlather})
	ts := time.Date(2026, 1, 2, 15, 4, 5, 123456789, time.UTC)
	rec := func(l slog.Level, msg string, attrs ...slog.Attr) {
		r := slog.NewRecord(ts, l, msg, 0)
		r.AddAttrs(attrs...)
		if err := h.Handle(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	rec(LevelCritical, "Server 'unix_http_server' running without any HTTP authentication checking")
	rec(LevelError, "pool x event buffer overflowed, discarding event 3")
	rec(LevelWarn, "exited: web (exit status 1; not expected)")
	rec(LevelInfo, "spawned: 'web' with pid 42")
	rec(LevelDebug, "'web' stdout output:\nhello")
	rec(LevelTrace, "trace")
	rec(LevelBlather, "blather")
	rec(slog.Level(2), "between info and warn")
	rec(LevelInfo, "attrs", slog.String("name", "web"), slog.Int("pid", 42), slog.String("err", "no such file"),
		slog.Group("g", slog.Bool("ok", true)), slog.String("empty", ""))
	lg := slog.New(h).With("proc", "a b").WithGroup("grp")
	r := slog.NewRecord(ts, LevelInfo, "with", 0)
	r.AddAttrs(slog.Int("n", 1))
	if err := lg.Handler().Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	want := `2026-01-02 15:04:05,123 CRIT Server 'unix_http_server' running without any HTTP authentication checking
2026-01-02 15:04:05,123 ERRO pool x event buffer overflowed, discarding event 3
2026-01-02 15:04:05,123 WARN exited: web (exit status 1; not expected)
2026-01-02 15:04:05,123 INFO spawned: 'web' with pid 42
2026-01-02 15:04:05,123 DEBG 'web' stdout output:
hello
2026-01-02 15:04:05,123 TRAC trace
2026-01-02 15:04:05,123 BLAT blather
2026-01-02 15:04:05,123 INFO between info and warn
2026-01-02 15:04:05,123 INFO attrs name=web pid=42 err="no such file" g.ok=true empty=""
2026-01-02 15:04:05,123 INFO with proc="a b" grp.n=1
`
	if file.String() != want {
		t.Fatalf("file:\n%s\nwant:\n%s", file.String(), want)
	}
	if stdout.String() != want {
		t.Fatal("stdout differs from file")
	}
}

func TestHandlerLevelAndSyslog(t *testing.T) {
	var sys lineRec
	h := NewHandler(HandlerOptions{Syslog: &sys})
	if h.Enabled(context.Background(), LevelDebug) || !h.Enabled(context.Background(), LevelInfo) {
		t.Fatal("default level should be INFO")
	}
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	r := slog.NewRecord(ts, LevelWarn, "two\nlines\n", 0)
	_ = h.Handle(context.Background(), r)
	want := "2026-01-02 03:04:05,006 WARN two\n|2026-01-02 03:04:05,006 WARN lines\n"
	if got := strings.Join(sys.lines, "|"); got != want {
		t.Fatalf("syslog %q want %q", got, want)
	}
}

// TestHandlerOverWriterRotates: the main log rotates by
// logfile_maxbytes/backups through a Writer.
func TestHandlerOverWriterRotates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "supervisord.log")
	w := mustOpen(t, path, 200, 2)
	lg := slog.New(NewHandler(HandlerOptions{File: w}))
	for range 20 {
		lg.Info("a line of about fifty bytes in total, padded")
	}
	for _, p := range []string{path, path + ".1", path + ".2"} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			if line != "" && !strings.HasSuffix(line, " INFO a line of about fifty bytes in total, padded") {
				t.Fatalf("%s: bad line %q", p, line)
			}
		}
	}
	absent(t, path+".3")
}
