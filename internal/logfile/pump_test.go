package logfile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// readRotated concatenates path.N … path.1 and path, oldest first.
func readRotated(t *testing.T, path string, backups int) []byte {
	t.Helper()
	var all []byte
	for i := backups; i >= 0; i-- {
		name := path
		if i > 0 {
			name = path + "." + strconv.Itoa(i)
		}
		b, err := os.ReadFile(name)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// TestPumpNoLineLostAcrossRotation: a real child writes 100k numbered
// lines, one write(2) each, while the file rotates every 16 KiB; every
// number must appear exactly once, in order, in whole lines, and no file
// may start or end inside a line.
func TestPumpNoLineLostAcrossRotation(t *testing.T) {
	const lines, width, backups = 100000, 7, 60 // 800 KB in ~49 files
	path := filepath.Join(t.TempDir(), "out.log")
	w, err := OpenWriter(path, 16<<10, backups, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	p := newTestPump(t, testLogger(t))
	r, cmd := startHelper(t, "numbers", lines, width)
	closed := make(chan struct{})
	if _, err := p.Add(r, Sink{Name: "numbers", Log: w, OnClosed: func() { close(closed) }}); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, closed)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("producer: %v", err)
	}
	if _, err := os.Stat(path + "." + strconv.Itoa(backups)); err == nil {
		t.Fatalf("backups %d exhausted: test would not see every line", backups)
	}
	for i := 1; i <= backups; i++ {
		b, err := os.ReadFile(path + "." + strconv.Itoa(i))
		if err != nil {
			if i < 3 {
				t.Fatalf("expected rotated file .%d: %v", i, err)
			}
			break
		}
		if len(b) < 16<<10 || b[len(b)-1] != '\n' {
			t.Fatalf(".%d: %d bytes, last byte %q: rotated too early or mid-line", i, len(b), b[len(b)-1])
		}
	}
	all := readRotated(t, path, backups)
	want := lines * (width + 1)
	if len(all) != want {
		t.Fatalf("got %d bytes, want %d", len(all), want)
	}
	for i := range lines {
		line := all[i*(width+1) : (i+1)*(width+1)]
		if got := fmt.Sprintf("%0*d\n", width, i); string(line) != got {
			t.Fatalf("line %d: got %q want %q", i, line, got)
		}
	}
}

// TestPumpManyPipes: several children at once, each into its own file;
// every byte arrives and every OnClosed fires once.
func TestPumpManyPipes(t *testing.T) {
	const n, lines = 8, 5000
	dir := t.TempDir()
	p := newTestPump(t, testLogger(t))
	var wg sync.WaitGroup
	var mu sync.Mutex
	closedCount := map[int]int{}
	writers := make([]*Writer, n)
	for i := range n {
		w, err := OpenWriter(filepath.Join(dir, strconv.Itoa(i)+".log"), 0, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		writers[i] = w
		r, _ := startHelper(t, "numbers", lines, 6)
		wg.Add(1)
		if _, err := p.Add(r, Sink{Log: w, OnClosed: func() {
			mu.Lock()
			closedCount[i]++
			mu.Unlock()
			wg.Done()
		}}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	for i := range n {
		if closedCount[i] != 1 {
			t.Errorf("pipe %d: OnClosed called %d times", i, closedCount[i])
		}
		b, err := os.ReadFile(writers[i].Path())
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != lines*7 || !bytes.HasPrefix(b, []byte("000000\n000001\n")) {
			t.Errorf("pipe %d: %d bytes", i, len(b))
		}
	}
}

// TestPumpRemoveLiveChild: Remove on a pipe whose writer is a live child
// (which never closes it) delivers what was written, closes the pipe and
// calls OnClosed, without waiting for the child.
func TestPumpRemoveLiveChild(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.log")
	w, err := OpenWriter(path, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	p := newTestPump(t, testLogger(t))
	r, cmd := startHelper(t, "hold", 0, 0)
	ready := make(chan struct{}, 1)
	closed := make(chan struct{})
	h, err := p.Add(r, Sink{
		Log:      w,
		OnLog:    func([]byte) { ready <- struct{}{} },
		OnClosed: func() { close(closed) },
	})
	if err != nil {
		t.Fatal(err)
	}
	waitClosed(t, ready)
	p.Remove(h)
	waitClosed(t, closed)
	p.Remove(h) // again: nothing happens
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("child should still be running: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "ready\n" {
		t.Fatalf("log = %q", b)
	}
}

// TestPumpCloseCallsOnClosed: Close drains and closes every pipe.
func TestPumpCloseCallsOnClosed(t *testing.T) {
	p, err := NewPump(nil)
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Write([]byte("last words <!--XSUPERVISOR:BEG")); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	closed := make(chan struct{})
	if _, err := p.Add(r, Sink{
		CaptureMaxBytes: 100,
		OnLog:           func(b []byte) { got.Write(b) },
		OnClosed:        func() { close(closed) },
	}); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, closed)
	// The held-back token prefix is flushed as output at the end.
	if got.String() != "last words <!--XSUPERVISOR:BEG" {
		t.Fatalf("got %q", got.String())
	}
	if err := p.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	r2, w2, _ := os.Pipe()
	defer w2.Close()
	if _, err := p.Add(r2, Sink{}); err != ErrPumpClosed {
		t.Fatalf("Add after Close: %v", err)
	}
	p.Remove(1) // after Close: no effect, no panic
}

// TestPumpAddRejects: a regular file cannot be polled; nil is refused.
func TestPumpAddRejects(t *testing.T) {
	p := newTestPump(t, nil)
	f, err := os.Create(filepath.Join(t.TempDir(), "regular"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Add(f, Sink{}); err == nil {
		t.Fatal("Add of a regular file succeeded")
	}
	if _, err := p.Add(nil, Sink{}); err == nil {
		t.Fatal("Add(nil) succeeded")
	}
}

// TestPumpFairness: a producer that never lets its pipe run dry does not
// starve another pipe: each round reads every ready pipe once.
func TestPumpFairness(t *testing.T) {
	p := newTestPump(t, testLogger(t))
	floodClosed, stopFlood := addFlood(t, p)
	quiet, _ := startHelper(t, "hold", 0, 0)
	ready := make(chan string, 1)
	if _, err := p.Add(quiet, Sink{OnLog: func(b []byte) { ready <- string(b) }}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-ready:
		if got != "ready\n" {
			t.Fatalf("got %q", got)
		}
	case <-floodClosed:
		t.Fatal("flood ended first")
	case <-time.After(30 * time.Second):
		t.Fatal("quiet pipe starved")
	}
	stopFlood()
}

// addFlood adds a child writing 64 KiB chunks for ever to p; the channel
// closes when the pump closed its pipe, and stop kills the child and
// waits for that.
func addFlood(t *testing.T, p *Pump) (closed <-chan struct{}, stop func()) {
	t.Helper()
	flood, cmd := startHelper(t, "bulk", 1<<30, 64<<10) // effectively endless
	ch := make(chan struct{})
	if _, err := p.Add(flood, Sink{OnClosed: func() { close(ch) }}); err != nil {
		t.Fatal(err)
	}
	return ch, func() {
		_ = cmd.Process.Kill()
		waitClosed(t, ch)
	}
}

// TestPumpAddFD: a raw non-blocking pipe read end is taken over as is: its
// output is delivered, EOF closes it (OnClosed) and a bad fd is refused.
func TestPumpAddFD(t *testing.T) {
	p := newTestPump(t, nil)
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	if err := unix.SetNonblock(fds[0], true); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 4)
	closed := make(chan struct{})
	if _, err := p.AddFD(fds[0], "raw", Sink{
		OnLog:    func(b []byte) { got <- bytes.Clone(b) },
		OnClosed: func() { close(closed) },
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Write(fds[1], []byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if string(b) != "hello\n" {
			t.Fatalf("got %q", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no output delivered")
	}
	unix.Close(fds[1])
	waitClosed(t, closed)
	if _, err := p.AddFD(-1, "bad", Sink{}); err == nil {
		t.Fatal("AddFD(-1) succeeded")
	}
}

// TestPumpCloseRightAfterRemove: a Close that comes while the loop is still
// in the round that applied a Remove must not lose its wake-up (the loop
// once reset the eventfd after applying control requests, and slept for
// ever with the Close pending).
func TestPumpCloseRightAfterRemove(t *testing.T) {
	for i := range 2000 {
		p, err := NewPump(nil)
		if err != nil {
			t.Fatal(err)
		}
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		closed := make(chan struct{})
		h, err := p.Add(r, Sink{OnClosed: func() { close(closed) }})
		if err != nil {
			t.Fatal(err)
		}
		p.Remove(h)
		waitClosed(t, closed)
		done := make(chan struct{})
		go func() { p.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: Close did not return", i)
		}
		w.Close()
	}
}

// TestPumpGrowsPipeOfSmallWrites: a pipe filled by 100-byte writes holds
// 64,000 bytes, not 64 KiB, and must still count as a fast writer's pipe
// and be enlarged (it once never was, so such a writer blocked during
// every coalescing pause).
func TestPumpGrowsPipeOfSmallWrites(t *testing.T) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	line := bytes.Repeat([]byte("x"), 99)
	line = append(line, '\n')
	total := 0
	for {
		n, err := unix.Write(fds[1], line)
		if err == unix.EAGAIN {
			break
		}
		if err != nil || n != len(line) {
			t.Fatalf("write: %d, %v", n, err)
		}
		total += n
	}
	if total >= 64<<10 {
		t.Fatalf("a full pipe of 100-byte writes held %d bytes; the test assumes less than 64 KiB", total)
	}
	p := newTestPump(t, nil)
	got := make(chan int, 64)
	if _, err := p.AddFD(fds[0], "fast", Sink{OnLog: func(b []byte) { got <- len(b) }}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for seen := 0; seen < total; {
		select {
		case n := <-got:
			seen += n
		case <-deadline:
			t.Fatalf("delivered %d of %d bytes", seen, total)
		}
	}
	size, err := unix.FcntlInt(uintptr(fds[1]), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		t.Fatal(err)
	}
	if size != grownPipeSize {
		t.Fatalf("pipe size %d after a full pipe of %d bytes was read, want %d", size, total, grownPipeSize)
	}
}

// TestPumpYieldsWhileOutputFlows: a loop with output to move for ever
// (it never parks) still goes through the scheduler (yieldEvery), so the
// runtime's sysmon never takes it for a goroutine that runs for 10 ms.
func TestPumpYieldsWhileOutputFlows(t *testing.T) {
	yielded := make(chan struct{}, 1)
	t.Cleanup(func() { gosched = runtime.Gosched }) // after the pump's Close
	gosched = func() {
		select {
		case yielded <- struct{}{}:
		default:
		}
		runtime.Gosched()
	}
	closed, stopFlood := addFlood(t, newTestPump(t, nil))
	select {
	case <-yielded:
	case <-closed:
		t.Fatal("the flood ended before the loop yielded")
	case <-time.After(30 * time.Second):
		t.Fatal("the loop never yielded in 30 s of output")
	}
	stopFlood()
}

// TestPauseLen: the pause is coalesceDelay with more than one P; with one it
// holds the only P, so it is never longer than onePDelay there.
func TestPauseLen(t *testing.T) {
	for _, c := range []struct {
		d     time.Duration
		procs int
		want  time.Duration
	}{
		{coalesceDelay, 2, coalesceDelay},
		{coalesceDelay, 8, coalesceDelay},
		{coalesceDelay, 1, onePDelay},
		{onePDelay / 2, 1, onePDelay / 2},
	} {
		if got := pauseLen(c.d, c.procs); got != c.want {
			t.Errorf("pauseLen(%v, %d) = %v, want %v", c.d, c.procs, got, c.want)
		}
	}
	if onePDelay > coalesceDelay {
		t.Errorf("onePDelay %v above coalesceDelay %v", onePDelay, coalesceDelay)
	}
}
