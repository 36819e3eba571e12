package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// serveHelper starts the "serve" child mode; with ln it inherits ln as
// fd 3 with LISTEN_FDS=1 and LISTEN_PID set to its own pid by a shell that
// execs it (Go cannot set the child's pid before the fork).
func serveHelper(t *testing.T, n *notifier, addr string, ln *net.TCPListener, env ...string) (*exec.Cmd, <-chan string) {
	t.Helper()
	args := []string{os.Args[0], "serve", n.Path, addr}
	var cmd *exec.Cmd
	if ln != nil {
		cmd = exec.Command("/bin/sh", append([]string{"-c", `export LISTEN_PID=$$ LISTEN_FDS=1; exec "$@"`, "sh"}, args...)...)
		f, err := ln.File()
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd.ExtraFiles = []*os.File{f}
	} else {
		cmd = exec.Command(args[0], args[1:]...)
	}
	cmd.Env = append(append(os.Environ(), "DROVERBENCH_HELPER=1"), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, lines
}

// waitLine waits for a line of the child's stdout containing s.
func waitLine(t *testing.T, lines <-chan string, s string) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("stdout ended before a line with %q", s)
			}
			if strings.Contains(l, s) {
				return
			}
		case <-deadline.C:
			t.Fatalf("no line with %q", s)
		}
	}
}

func waitKind(t *testing.T, n *notifier, pid int) string {
	t.Helper()
	nt, err := waitNote(context.Background(), n, nil, 10*time.Second, func(nt note) bool { return nt.Pid == pid })
	if err != nil {
		t.Fatal(err)
	}
	return nt.Kind
}

// waitExit waits for cmd with a deadline and returns its error.
func waitExit(t *testing.T, cmd *exec.Cmd) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("serve child did not exit")
		return nil
	}
}

// The app serves the inherited socket, answers its generation, says
// Connection: close once draining and exits 0 on SIGTERM; the socket still
// listens afterwards (the app never shut it down for the other holders).
func TestServeInheritedSocketDrainsOnSIGTERM(t *testing.T) {
	n, err := listenNotify(filepath.Join(t.TempDir(), "n.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cmd, lines := serveHelper(t, n, "127.0.0.1:1", ln, "DROVER_GENERATION=7")
	if k := waitKind(t, n, cmd.Process.Pid); k != noteInherit {
		t.Fatalf("note kind %q, want %q", k, noteInherit)
	}
	deadline := time.Now().Add(10 * time.Second)
	c, err := dialClient(ln.Addr().String(), deadline)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	gen, keep, err := c.get(deadline, false)
	if err != nil || gen != 7 || !keep {
		t.Fatalf("first answer: gen %d keep %v err %v", gen, keep, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The open keep-alive connection holds the app in its drain: the next
	// answer must come, with Connection: close.
	waitLine(t, lines, "draining")
	gen, keep, err = c.get(deadline, false)
	if err != nil || gen != 7 || keep {
		t.Fatalf("answer while draining: gen %d keep %v err %v", gen, keep, err)
	}
	if err := waitExit(t, cmd); err != nil {
		t.Fatalf("exit: %v", err)
	}
	// The socket lives on in this process: a connection still queues.
	c2, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatalf("socket closed for the other holders: %v", err)
	}
	c2.Close()
}

// Without LISTEN_FDS for its own pid, the app binds ADDR itself and
// answers its pid.
func TestServeBindsWithoutListenFDs(t *testing.T) {
	n, err := listenNotify(filepath.Join(t.TempDir(), "n.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd, _ := serveHelper(t, n, addr, nil, "LISTEN_PID=1", "LISTEN_FDS=1", "DROVER_GENERATION=")
	if k := waitKind(t, n, cmd.Process.Pid); k != noteBind {
		t.Fatalf("note kind %q, want %q", k, noteBind)
	}
	deadline := time.Now().Add(10 * time.Second)
	c, err := dialClient(addr, deadline)
	if err != nil {
		t.Fatal(err)
	}
	gen, _, err := c.get(deadline, true)
	c.close()
	if err != nil || gen != int64(cmd.Process.Pid) {
		t.Fatalf("gen %d (pid %d), err %v", gen, cmd.Process.Pid, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := waitExit(t, cmd); err != nil {
		t.Fatalf("exit: %v", err)
	}
}

func TestServeRefusesToBindBeyondLoopback(t *testing.T) {
	t.Setenv("LISTEN_PID", "")
	for _, addr := range []string{"0.0.0.0:1", ":1", "localhost:1", "10.0.0.1:1", "nonsense"} {
		if code := childMain([]string{"serve", "/nonexistent", addr}); code != 1 {
			t.Errorf("serve %s: exit %d, want 1", addr, code)
		}
	}
	if code := childMain([]string{"serve", "/nonexistent"}); code != 2 {
		t.Errorf("serve without ADDR: exit %d, want 2", code)
	}
}

func TestClassifyErr(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	_, refused := dialClient("127.0.0.1:"+strconv.Itoa(port), time.Now().Add(5*time.Second))
	for _, c := range []struct {
		err  error
		want outcome
	}{
		{nil, outOK},
		{refused, outRefused},
		{&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, outReset},
		{&net.OpError{Op: "write", Err: os.NewSyscallError("write", syscall.EPIPE)}, outReset},
		{&net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, outTimeout},
		{io.EOF, outEmpty},
		{fmt.Errorf("reading: %w", io.ErrUnexpectedEOF), outEmpty},
		{fmt.Errorf("%w: 502", errStatus5xx), out5xx},
		{fmt.Errorf("%w: 404", errStatus), outOther},
		{errors.New("something else"), outOther},
	} {
		if got := classifyErr(c.err); got != c.want {
			t.Errorf("classifyErr(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// The client reuses keep-alive connections, honours Connection: close and
// turns bad answers into errors of the right class.
func TestClientGet(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			fmt.Fprintln(w, "gen=3")
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	deadline := time.Now().Add(10 * time.Second)
	c, err := dialClient(addr, deadline)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	for i := range 3 {
		gen, keep, err := c.get(deadline, false)
		if err != nil || gen != 3 || !keep {
			t.Fatalf("request %d: gen %d keep %v err %v", i, gen, keep, err)
		}
	}
	if _, keep, err := c.get(deadline, true); err != nil || keep {
		t.Fatalf("Connection: close request: keep %v err %v", keep, err)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for 4 requests on one", n)
	}

	for _, c := range []struct {
		status int
		body   string
		want   outcome
	}{{503, "gen=1", out5xx}, {404, "gen=1", outOther}, {200, "hello", outOther}} {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(c.status)
			fmt.Fprint(w, c.body)
		}))
		cc, err := dialClient(s.Listener.Addr().String(), deadline)
		if err != nil {
			t.Fatal(err)
		}
		_, keep, err := cc.get(deadline, false)
		cc.close()
		s.Close()
		if got := classifyErr(err); got != c.want || keep {
			t.Errorf("%d %q: outcome %v keep %v (%v), want %v", c.status, c.body, got, keep, err, c.want)
		}
	}
}

// The load's workers keep sending until stopped; keep-alive workers use one
// connection each, the others one per request.
func TestLoadRunsUntilStopped(t *testing.T) {
	const want = 400
	var reqs, conns atomic.Int32
	enough := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if reqs.Add(1) == want {
			close(enough)
		}
		fmt.Fprintln(w, "gen=1")
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	lg := startLoad(srv.Listener.Addr().String(), 2, 2, 5*time.Second)
	select {
	case <-enough:
	case <-time.After(30 * time.Second):
		t.Fatal("load sent too few requests")
	}
	samples, fails, err := lg.Stop(15 * time.Second)
	if err != nil || len(fails) != 0 {
		t.Fatal(err, fails)
	}
	ok, reused := 0, 0
	for i, s := range samples {
		if i > 0 && s.Start < samples[i-1].Start {
			t.Fatal("samples not in start order")
		}
		if s.Out == outOK && s.Gen == 1 && s.Dur > 0 {
			ok++
		}
		if s.Reused {
			reused++
		}
	}
	if ok != len(samples) || len(samples) < want || int(reqs.Load()) != len(samples) {
		t.Fatalf("%d samples, %d ok, server saw %d", len(samples), ok, reqs.Load())
	}
	// 2 keep-alive connections + one per new-connection request.
	if got, newConn := int(conns.Load()), len(samples)-reused; got != newConn || reused == 0 {
		t.Fatalf("%d connections, %d requests not on a reused one (%d reused)", got, newConn, reused)
	}
}

func TestPercentile(t *testing.T) {
	xs := make([]float64, 200)
	for i := range xs {
		xs[i] = float64(200 - i) // 1..200, reversed
	}
	if p := percentile(xs, 99); p != 198 {
		t.Errorf("p99 of 1..200 = %v, want 198", p)
	}
	if p := percentile([]float64{5}, 99); p != 5 {
		t.Errorf("p99 of one = %v", p)
	}
	if p := percentile(nil, 99); !math.IsNaN(p) {
		t.Errorf("p99 of none = %v", p)
	}
}

func TestSummarize(t *testing.T) {
	msd := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	var ss []sample
	add := func(start, dur float64, out outcome, gen int64, reused bool) {
		ss = append(ss, sample{Start: msd(start), Dur: msd(dur), Out: out, Gen: gen, Reused: reused})
	}
	// Steady state 0-1000 ms: 100 requests of 1 ms, one of 9 ms, and one
	// failure before the first reload.
	for i := range 100 {
		add(float64(i*10), 1, outOK, 1, false)
	}
	add(995, 9, outOK, 1, true)
	add(500, 0.1, outRefused, 0, false)
	// Reload window 1000-1100: 10 requests of 2 ms, one refused, one reset
	// on a reused connection; then a quiet window with one timeout, and the
	// second generation answering from 1050 on.
	for i := range 10 {
		add(1000+float64(i*10), 2, outOK, int64(1+i/5), false)
	}
	add(1001, 0.1, outRefused, 0, false)
	add(1002, 0.1, outReset, 0, true)
	add(1200, 2000, outTimeout, 0, false)
	add(1300, 1, outOK, 2, false)
	steady := span{From: 0, To: msd(1000)}
	reloads := []span{{From: msd(1000), To: msd(1100)}}
	s := summarize(ss, steady, reloads, msd(1500))
	if s.SteadyN != 101 || s.SteadyP99 != 1 {
		t.Errorf("steady: n %d p99 %v (the 9 ms one is the single worst of 101: above p99)", s.SteadyN, s.SteadyP99)
	}
	if s.ReloadN != 10 || s.ReloadP99 != 2 {
		t.Errorf("reload: n %d p99 %v", s.ReloadN, s.ReloadP99)
	}
	if s.Failed != 3 || s.FailedInWindows != 2 || s.FailedReused != 1 || s.FailedSteady != 1 || s.Requests != 14 {
		t.Errorf("failures %+v", s)
	}
	if len(s.FailedPerReload) != 1 || s.FailedPerReload[0] != 3 {
		t.Errorf("per reload %v", s.FailedPerReload)
	}
	if s.FailedByOutcome["refused"] != 1 || s.FailedByOutcome["reset"] != 1 || s.FailedByOutcome["timeout"] != 1 {
		t.Errorf("by outcome %v", s.FailedByOutcome)
	}
	if s.Generations != 2 {
		t.Errorf("generations %d", s.Generations)
	}
	// Answers end at 1002..1092, then 1301; the load ends at 1500.
	if s.LongestSilence != msd(1301)-msd(1092) {
		t.Errorf("longest silence %v", s.LongestSilence)
	}
	// Steady answers end every 10 ms from 1 ms on, the last at 991 ms;
	// the 9 ms one ends at 1004, outside the window (which ends at 1000).
	if s.SteadySilence != msd(10) {
		t.Errorf("steady silence %v", s.SteadySilence)
	}
	if !strings.Contains(fmt.Sprint(summarize(nil, steady, nil, msd(10)).SteadyP99), "NaN") {
		t.Error("no samples: p99 should be NaN")
	}
}

// Failures are counted against the reload they follow, quiet windows
// included; those before the first reload are steady-state failures.
func TestSummarizeFailuresPerReload(t *testing.T) {
	at := func(start time.Duration, out outcome) sample {
		return sample{Start: start, Dur: time.Millisecond, Out: out, Gen: 1}
	}
	ss := []sample{at(5, outReset), at(10, outOK), at(12, outRefused), at(25, outRefused), at(30, outTimeout), at(41, outEmpty)}
	s := summarize(ss, span{From: 0, To: 10}, []span{{From: 10, To: 15}, {From: 30, To: 35}}, 50)
	if s.FailedSteady != 1 || s.Failed != 4 || s.FailedInWindows != 2 || len(s.FailedPerReload) != 2 ||
		s.FailedPerReload[0] != 2 || s.FailedPerReload[1] != 2 || s.Requests != 5 {
		t.Fatalf("%+v", s)
	}
}
