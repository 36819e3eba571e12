package daemon

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/reload"
)

// TestProgramSockets follows one program's listeners through hand-offs on
// real sockets (nothing is spawned: the supervisor's calls are made by
// hand): a generation beside a live one gets a Sibling that sees no
// connection until Promote, the old one's are retired when it is gone, a
// respawn keeps the serving ones, a failed generation's go.
func TestProgramSockets(t *testing.T) {
	specs, err := config.ParseSockets("tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	set, err := reload.Bind(specs, reload.SocketOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := newProgramSockets("web", set, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(s.Close)
	q := func(l *reload.Set) int {
		t.Helper()
		n, err := l.Queued()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	g1 := s.Listen(false)
	addr := g1.Addrs()[0]
	dial := func(n int) {
		t.Helper()
		for range n {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
		}
	}

	g2 := s.Listen(true)
	if g2 == g1 || g2.Addrs()[0] != addr {
		t.Fatal("the generation beside a live one shares its listeners")
	}
	dial(3)
	if a, b := q(g1), q(g2); a != 3 || b != 0 {
		t.Fatalf("booting: old %d, new %d; want 3, 0", a, b)
	}
	if !s.Promote(g2) {
		t.Fatal("Promote: no steering")
	}
	dial(2)
	if a, b := s.Queued(g1), q(g2); a != 3 || b != 2 {
		t.Fatalf("promoted: old %d, new %d; want 3, 2", a, b)
	}
	if n := s.Queued(g2); n != 0 {
		t.Fatalf("Queued of the serving generation: %d", n)
	}
	s.Release(g1)
	if _, err := g1.Queued(); !errors.Is(err, reload.ErrClosed) {
		t.Fatalf("old listeners after its exit: %v", err)
	}
	dial(1)
	if b := q(g2); b != 3 {
		t.Fatalf("after the old one: %d queued, want 3", b)
	}

	// A crash and respawn keep the serving listeners and what they queued.
	s.Release(g2)
	dial(1)
	g3 := s.Listen(false)
	if g3 != g2 || q(g3) != 4 {
		t.Fatal("the respawn did not get the serving listeners")
	}

	// A failed hand-off: its listeners go, the serving ones keep it all.
	g4 := s.Listen(true)
	dial(1)
	s.Release(g4)
	if _, err := g4.Queued(); !errors.Is(err, reload.ErrClosed) || q(g3) != 5 {
		t.Fatalf("failed generation: %v, serving has %d", err, q(g3))
	}
	if len(s.holds) != 1 || s.holds[g3] != 1 {
		t.Fatalf("holds %v", s.holds)
	}

	// The old generation gone before the new one is ready: Promote
	// retires the old listeners at once and says there is nothing to drain.
	g5 := s.Listen(true)
	s.Release(g3)
	if s.Promote(g5) {
		t.Fatal("Promote steered away from listeners nobody holds")
	}
	if _, err := g3.Queued(); !errors.Is(err, reload.ErrClosed) || s.serving != g5 {
		t.Fatalf("old serving listeners after Promote: %v", err)
	}

	// Beside nobody: the serving listeners, no Sibling.
	s.Release(g5)
	if g6 := s.Listen(true); g6 != g5 {
		t.Fatal("a generation beside none got a Sibling")
	}
}
