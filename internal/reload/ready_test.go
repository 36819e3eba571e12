package reload

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

func gen(exited <-chan struct{}) Gen { return Gen{Number: 1, Pid: 1, Exited: exited} }

// TestHTTPProbe: not ready on 5xx and 3xx, ready on the first 2xx, one
// new connection per try.
func TestHTTPProbe(t *testing.T) {
	var tries atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch tries.Add(1) {
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	var conns atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	r, err := config.ParseReady(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := (HTTPProbe{URL: r.URL}).Wait(ctx, gen(nil)); err != nil {
		t.Fatal(err)
	}
	if tries.Load() != 3 || conns.Load() != 3 {
		t.Errorf("%d tries on %d connections, want 3 on 3", tries.Load(), conns.Load())
	}
}

// TestHTTPProbeGivesUp: the context bounds the retry loop, the error says
// what the last try saw; a generation's exit ends it at once.
func TestHTTPProbeGivesUp(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	r, _ := config.ParseReady(srv.URL + "/")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := (HTTPProbe{URL: r.URL}).Wait(ctx, gen(nil))
	if !errors.Is(err, ErrNotReady) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "500") {
		t.Fatalf("err %v", err)
	}

	exit := make(chan struct{})
	close(exit)
	err = (HTTPProbe{URL: r.URL}).Wait(context.Background(), gen(exit))
	if !errors.Is(err, ErrExited) {
		t.Fatalf("exited: %v", err)
	}
	pr, _ := config.ParseReady("http://{probe}/")
	if err := (HTTPProbe{URL: pr.URL}).Wait(context.Background(), gen(nil)); !errors.Is(err, ErrNoProbeSocket) {
		t.Fatalf("no probe socket: %v", err)
	}
}

func TestTCPProbe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := (TCPProbe{Addr: addr}).Wait(ctx, gen(nil)); err != nil {
		t.Fatal(err)
	}
	ln.Close()
	short, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	if err := (TCPProbe{Addr: addr}).Wait(short, gen(nil)); !errors.Is(err, ErrNotReady) {
		t.Fatalf("closed port: %v", err)
	}
}

// TestLogProbe: lines split across chunks match, a line is matched only
// once complete, streams keep separate partial lines, CRLF is trimmed and
// an over-long line is matched on its first MaxLogLine bytes.
func TestLogProbe(t *testing.T) {
	l := NewLogProbe(regexp.MustCompile(`^worker=\d+ ready$`))
	out, errs := l.Hook(), l.Hook()
	out([]byte("booting\nwork"))
	errs([]byte("er=9 ready")) // another stream: must not join stdout's partial line
	out([]byte("er=1 rea"))
	if l.done() {
		t.Fatal("matched an incomplete line")
	}
	out([]byte("dy\r\nmore"))
	if !l.done() || l.Line() != "worker=1 ready" {
		t.Fatalf("line %q", l.Line())
	}
	if err := l.Wait(context.Background(), gen(nil)); err != nil {
		t.Fatal(err)
	}
	out([]byte("after\n")) // cheap no-op after the match

	long := NewLogProbe(regexp.MustCompile(`^x+$`))
	h := long.Hook()
	h([]byte(strings.Repeat("x", MaxLogLine+10)))
	if !long.done() || len(long.Line()) != MaxLogLine {
		t.Fatalf("long line: %d", len(long.Line()))
	}

	never := NewLogProbe(regexp.MustCompile(`ready`))
	exit := make(chan struct{})
	close(exit)
	if err := never.Wait(context.Background(), gen(exit)); !errors.Is(err, ErrExited) {
		t.Fatalf("exit: %v", err)
	}
}

// TestUptimeProbe: ready exactly D after Wait, unless the process exits
// first (then at the exit).
func TestUptimeProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		if err := (UptimeProbe{D: 5 * time.Second}).Wait(context.Background(), gen(nil)); err != nil || time.Since(t0) != 5*time.Second {
			t.Fatalf("%v after %v", err, time.Since(t0))
		}
		exit := make(chan struct{})
		time.AfterFunc(2*time.Second, func() { close(exit) })
		t0 = time.Now()
		err := (UptimeProbe{D: 5 * time.Second}).Wait(context.Background(), gen(exit))
		if !errors.Is(err, ErrExited) || time.Since(t0) != 2*time.Second {
			t.Fatalf("%v after %v", err, time.Since(t0))
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := (UptimeProbe{D: 5 * time.Second}).Wait(ctx, gen(nil)); !errors.Is(err, ErrNotReady) {
			t.Fatal(err)
		}
	})
}

// TestGenProbe: what a generation gets from each kind.
func TestGenProbe(t *testing.T) {
	dir := t.TempDir()
	for in, check := range map[string]func(*GenProbe){
		"http://{probe}/healthz": func(gp *GenProbe) {
			if gp.ProbeSet() == nil || gp.ProbeSet().Names()[0] != "probe" || !strings.HasPrefix(gp.ProbeAddr(), "127.0.0.1:") {
				t.Errorf("probe set %v", gp.ProbeSet())
			}
			if len(gp.Env()) != 1 || gp.Env()[0] != "DROVER_PROBE_ADDR="+gp.ProbeAddr() {
				t.Errorf("env %v", gp.Env())
			}
		},
		"notify": func(gp *GenProbe) {
			if gp.Notify() == nil || gp.Env()[0] != "NOTIFY_SOCKET="+gp.Notify().Path() || !strings.HasPrefix(gp.Notify().Path(), dir) {
				t.Errorf("env %v", gp.Env())
			}
		},
		"log:x": func(gp *GenProbe) {
			if gp.LogHook() == nil || gp.Env() != nil {
				t.Error("log hook")
			}
		},
		"uptime:1s": func(gp *GenProbe) {
			if gp.LogHook() != nil || gp.ProbeSet() != nil || gp.Env() != nil {
				t.Error("uptime needs nothing")
			}
		},
	} {
		r, err := config.ParseReady(in)
		if err != nil {
			t.Fatal(err)
		}
		gp, err := Prepare(r, PrepareOptions{Dir: dir})
		if err != nil {
			t.Fatal(in, err)
		}
		check(gp)
		gp.Started()
		if err := gp.Close(); err != nil {
			t.Errorf("%s close: %v", in, err)
		}
		if err := gp.Close(); err != nil {
			t.Errorf("%s second close: %v", in, err)
		}
	}
}

// TestAssemble: the program's sockets first, then the probe socket; names
// and environment match, Server::Starter variables only for presets that
// want them.
func TestAssemble(t *testing.T) {
	set := mustBind(t, "web=tcp://127.0.0.1:0", SocketOptions{})
	r, _ := config.ParseReady("http://{probe}/")
	gp, err := Prepare(r, PrepareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer gp.Close()
	starman, _ := config.LookupPreset("starman")
	in, err := Assemble(set, gp, starman, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if len(in.Files) != 2 || strings.Join(in.Names, ":") != "web:probe" {
		t.Fatalf("files %d names %v", len(in.Files), in.Names)
	}
	want := []string{"DROVER_GENERATION=3", "DROVER_PROBE_ADDR=" + gp.ProbeAddr(),
		"SERVER_STARTER_PORT=" + set.Addrs()[0] + "=3;" + gp.ProbeAddr() + "=4", "SERVER_STARTER_GENERATION=3"}
	if strings.Join(in.Env, " ") != strings.Join(want, " ") {
		t.Errorf("env %q\nwant %q", in.Env, want)
	}
	plain, _ := config.LookupPreset("plain")
	in2, err := Assemble(set, nil, plain, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer in2.Close()
	if len(in2.Files) != 1 || strings.Join(in2.Env, " ") != "DROVER_GENERATION=1" {
		t.Errorf("plain: %d files, env %v", len(in2.Files), in2.Env)
	}
}

// BenchmarkLogHook measures the log probe's cost on the capture pump's
// goroutine: per 4 KiB chunk of 80-byte lines before a match, and after
// the match (when it must be a near no-op).
func BenchmarkLogHook(b *testing.B) {
	line := strings.Repeat("x", 79) + "\n"
	chunk := []byte(strings.Repeat(line, 4096/len(line)))
	b.Run("searching", func(b *testing.B) {
		h := NewLogProbe(regexp.MustCompile(`worker=\d+ ready`)).Hook()
		b.SetBytes(int64(len(chunk)))
		b.ReportAllocs()
		for b.Loop() {
			h(chunk)
		}
	})
	b.Run("matched", func(b *testing.B) {
		l := NewLogProbe(regexp.MustCompile(`x`))
		h := l.Hook()
		h([]byte("x\n"))
		b.SetBytes(int64(len(chunk)))
		b.ReportAllocs()
		for b.Loop() {
			h(chunk)
		}
	})
}
