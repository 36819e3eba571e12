package spawn

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
)

func newForkers(t *testing.T, n int) *Forkers {
	t.Helper()
	f := NewForkers(n)
	if f == nil {
		t.Fatal("NewForkers: no forker started (unshare or pidfd_open refused)")
	}
	t.Cleanup(f.Close)
	return f
}

// A spawn through the forkers gets its stdio and extra files at the right
// numbers (copies taken from this process's table) and nothing else.
func TestForkersStartWithExtraFiles(t *testing.T) {
	f := newForkers(t, 2)
	ln, r1 := twoExtraFiles(t)
	rep, _ := startReport(t, &Spec{ExtraFiles: []*os.File{ln, r1}, ListenFDs: 2, Umask: -1, Forkers: f})
	checkChildFds(t, rep, map[string]*os.File{"3": ln, "4": r1}, "(the forker's own copies must be closed)")
}

// The forkers' tables hold no copy of what was open when they started: a
// pipe closed here ends for its reader, a closed listener frees its port.
func TestForkersHoldNoCopies(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	newForkers(t, 2)
	w.Close()
	ln.Close()
	_ = r.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("read after the writer closed: %d, %v; want EOF (a forker holds a copy)", n, err)
	}
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v (a forker holds a copy)", addr, err)
	}
	ln2.Close()
}

// A collection that a forker's thread starts (it allocates argv and env
// for each fork) restarts the world with a poll of the runtime's poller on
// that thread: its table keeps the poller's descriptors. Here every fork
// runs runtime.GC on the forker's thread first. After Close, forks run on
// the caller's thread.
func TestForkersSurviveGC(t *testing.T) {
	f := newForkers(t, 2)
	forkHook = runtime.GC
	defer func() { forkHook = nil }()
	before := gcCount()
	for range 50 {
		forkTrue(t, f)
	}
	if n := gcCount() - before; n < 50 {
		t.Errorf("%d collections during 50 forks, want one per fork at least", n)
	}
	f.Close()
	forkTrue(t, f)
}

// forkTrue runs /bin/true through f, stdio on /dev/null, and waits for
// it to exit 0.
func forkTrue(t *testing.T, f *Forkers) {
	t.Helper()
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	fd := devnull.Fd()
	pid, err := f.ForkExec("/bin/true", []string{"true"}, &syscall.ProcAttr{Files: []uintptr{fd, fd, fd}})
	if err != nil {
		t.Fatalf("fork: %v", err)
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil || ws.ExitStatus() != 0 {
		t.Fatalf("child %d: %v, %v", pid, ws, err)
	}
}

func gcCount() uint32 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.NumGC
}

// A descriptor that is not open fails the fork as syscall.ForkExec does,
// and leaves the forkers on: only a refused pidfd_getfd turns them off.
func TestForkersBadDescriptor(t *testing.T) {
	f := newForkers(t, 1)
	const notOpen = 1 << 20
	_, err := f.ForkExec("/bin/true", []string{"true"}, &syscall.ProcAttr{Files: []uintptr{notOpen, notOpen, notOpen}})
	if !errors.Is(err, syscall.EBADF) {
		t.Errorf("fork with a descriptor not open: %v, want EBADF", err)
	}
	if f.off.Load() {
		t.Error("the forkers were turned off by a bad descriptor")
	}
}
