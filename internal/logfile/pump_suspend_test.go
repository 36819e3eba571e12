package logfile

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// lockedBuf is a Log that tests read while the pump writes.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
	ch chan struct{} // gets a token per write
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case l.ch <- struct{}{}:
	default:
	}
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestPumpSuspendKeepsUnreadBytes: Suspend hands back the open fd of each
// pipe; bytes written while suspended stay in the pipe (readable through
// that fd, which an upgrade hands to the next image), and Resume reads
// them.
func TestPumpSuspendKeepsUnreadBytes(t *testing.T) {
	p := newTestPump(t, testLogger(t))
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	out := &lockedBuf{ch: make(chan struct{}, 1)}
	h, err := p.AddFD(fds[0], "t stdout", Sink{Name: "t", Log: out})
	if err != nil {
		t.Fatal(err)
	}
	write := func(s string) {
		if _, err := unix.Write(fds[1], []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor := func(want string) {
		deadline := time.After(10 * time.Second)
		for out.String() != want {
			select {
			case <-out.ch:
			case <-deadline:
				t.Fatalf("log = %q, want %q", out.String(), want)
			}
		}
	}
	write("one\n")
	waitFor("one\n")
	got := p.Suspend()
	if got[h] != fds[0] {
		t.Fatalf("Suspend = %v, want handle %d -> fd %d", got, h, fds[0])
	}
	write("two\n")
	// The pipe holds it: peek with a non-consuming poll.
	pfd := []unix.PollFd{{Fd: int32(fds[0]), Events: unix.POLLIN}}
	if n, err := unix.Poll(pfd, 5000); err != nil || n != 1 {
		t.Fatalf("poll = %d, %v", n, err)
	}
	if s := out.String(); s != "one\n" {
		t.Fatalf("read while suspended: %q", s)
	}
	p.Resume()
	waitFor("one\ntwo\n")
}
