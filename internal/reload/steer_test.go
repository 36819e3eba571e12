package reload

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// dialN makes n connections to addr and keeps them open until the test
// ends; the kernel completes each handshake into some listener's queue.
func dialN(t *testing.T, addr string, n int) {
	t.Helper()
	for range n {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
	}
}

func queued(t *testing.T, s *Set) int {
	t.Helper()
	n, err := s.Queued()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSteer: a Sibling joins the serving listener's group at index 1;
// Steer(0) sends every connection to the serving one, Steer(1) every one
// to the Sibling; once the serving one is retired the Sibling is index 0.
// Queued counts what waits in each accept queue (nothing accepts here).
func TestSteer(t *testing.T) {
	serving := mustBind(t, "web=tcp://127.0.0.1:0", SocketOptions{})
	addr := serving.Addrs()[0]
	if err := serving.Steer(0); err != nil {
		t.Fatal(err)
	}
	next, err := serving.Sibling()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { next.Close() })
	if next.Addrs()[0] != addr || next.Names()[0] != "web" || !next.HasTCP() {
		t.Fatalf("sibling %v %v", next.Addrs(), next.Names())
	}

	dialN(t, addr, 8)
	if a, b := queued(t, serving), queued(t, next); a != 8 || b != 0 {
		t.Fatalf("K=0: serving %d, sibling %d; want 8, 0", a, b)
	}
	if err := serving.Steer(1); err != nil {
		t.Fatal(err)
	}
	dialN(t, addr, 5)
	if a, b := queued(t, serving), queued(t, next); a != 8 || b != 5 {
		t.Fatalf("K=1: serving %d, sibling %d; want 8, 5", a, b)
	}

	lost, err := serving.Retire()
	if err != nil || lost != 8 {
		t.Fatalf("retire: %d queued, %v", lost, err)
	}
	if _, err := serving.Queued(); !errors.Is(err, ErrClosed) {
		t.Fatalf("retired set: %v", err)
	}
	if err := next.Steer(0); err != nil {
		t.Fatal(err)
	}
	dialN(t, addr, 3)
	if b := queued(t, next); b != 8 {
		t.Fatalf("after retire, K=0: sibling has %d queued, want 8", b)
	}

	// A new sibling of the promoted one gets nothing while K=0.
	third, err := next.Sibling()
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	dialN(t, addr, 2)
	if b, c := queued(t, next), queued(t, third); b != 10 || c != 0 {
		t.Fatalf("third generation booting: %d, %d; want 10, 0", b, c)
	}
	// The failed generation's listener goes; the serving one is untouched.
	if lost, err := third.Retire(); err != nil || lost != 0 {
		t.Fatalf("retire third: %d, %v", lost, err)
	}
	dialN(t, addr, 1)
	if b := queued(t, next); b != 11 {
		t.Fatalf("after the failed generation: %d queued, want 11", b)
	}
}

// TestSteerHolderKeepsSocket: Retire takes the listener out of its group
// even while a (child's) duplicate still holds it open.
func TestSteerHolderKeepsSocket(t *testing.T) {
	serving := mustBind(t, "tcp://127.0.0.1:0", SocketOptions{})
	addr := serving.Addrs()[0]
	held, err := serving.Files()
	if err != nil {
		t.Fatal(err)
	}
	defer held[0].Close()
	next, err := serving.Sibling()
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	if err := serving.Steer(1); err != nil {
		t.Fatal(err)
	}
	if _, err := serving.Retire(); err != nil {
		t.Fatal(err)
	}
	if err := next.Steer(0); err != nil {
		t.Fatal(err)
	}
	dialN(t, addr, 4)
	if b := queued(t, next); b != 4 {
		t.Fatalf("sibling has %d queued, want 4 (the held duplicate left the group)", b)
	}
}

// TestSiblingSharesUnix: a unix socket is shared, and its file stays until
// the last Set holding it is closed.
func TestSiblingSharesUnix(t *testing.T) {
	p := filepath.Join(t.TempDir(), "app.sock")
	serving := mustBind(t, "tcp://127.0.0.1:0,unix://"+p, SocketOptions{})
	next, err := serving.Sibling()
	if err != nil {
		t.Fatal(err)
	}
	if next.Addrs()[1] != p {
		t.Fatalf("addrs %v", next.Addrs())
	}
	if _, err := serving.Retire(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("socket file removed while the sibling holds it: %v", err)
	}
	c, err := net.Dial("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	files, err := next.Files()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		f.Close()
	}
	if err := next.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket file after the last close: %v", err)
	}
	if unixOnly := mustBind(t, "unix://"+p, SocketOptions{}); unixOnly.HasTCP() {
		t.Error("HasTCP on a unix-only set")
	}
}
