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

// TestSteerListeners follows one program's listeners through hand-offs on
// real sockets (the pids are made up: nothing is spawned): a generation
// beside a live one gets a Sibling that sees no connection until Promote,
// the old one's are retired when its pid is reaped, a respawn keeps the
// serving ones, a failed generation's go.
func TestSteerListeners(t *testing.T) {
	h := newOSHost(config.Supervisord{}, "", nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(h.closeOwned)
	p := &config.Process{Group: "web", Name: "web", Drover: config.Drover{
		Sockets: []string{"tcp://127.0.0.1:0"}, Reload: string(reload.BlueGreen), SocketUID: -1, SocketGID: -1}}
	spawn := func(pid int) *genSetup {
		t.Helper()
		gs, err := h.prepareGen(p)
		if err != nil {
			t.Fatal(err)
		}
		h.started(gs, pid, nil, false)
		return gs
	}
	q := func(s *reload.Set) int {
		t.Helper()
		n, err := s.Queued()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	g1 := spawn(1001)
	addr := g1.set.Addrs()[0]
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

	g2 := spawn(1002)
	if g2.set == g1.set || g2.set.Addrs()[0] != addr {
		t.Fatal("the generation beside a live one shares its listeners")
	}
	dial(3)
	if a, b := q(g1.set), q(g2.set); a != 3 || b != 0 {
		t.Fatalf("booting: old %d, new %d; want 3, 0", a, b)
	}
	if !h.Promote(p, 1002, 1001) {
		t.Fatal("Promote: no steering")
	}
	dial(2)
	if a, b := h.Queued(p, 1001), q(g2.set); a != 3 || b != 2 {
		t.Fatalf("promoted: old %d, new %d; want 3, 2", a, b)
	}
	if n := h.Queued(p, 1002); n != 0 {
		t.Fatalf("Queued of the serving generation: %d", n)
	}
	h.listenersExited(1001)
	if _, err := g1.set.Queued(); !errors.Is(err, reload.ErrClosed) {
		t.Fatalf("old listeners after its exit: %v", err)
	}
	dial(1)
	if b := q(g2.set); b != 3 {
		t.Fatalf("after the old one: %d queued, want 3", b)
	}

	// A crash and respawn keep the serving listeners and what they queued.
	h.listenersExited(1002)
	dial(1)
	g3 := spawn(1003)
	if g3.set != g2.set || q(g3.set) != 4 {
		t.Fatal("the respawn did not get the serving listeners")
	}

	// A failed hand-off: its listeners go, the serving ones keep it all.
	g4 := spawn(1004)
	dial(1)
	h.listenersExited(1004)
	if _, err := g4.set.Queued(); !errors.Is(err, reload.ErrClosed) || q(g3.set) != 5 {
		t.Fatalf("failed generation: %v, serving has %d", err, q(g3.set))
	}
	// A spawn that failed drops its Sibling at once.
	g5, err := h.prepareGen(p)
	if err != nil {
		t.Fatal(err)
	}
	h.started(g5, 0, errors.New("exec failed"), false)
	if _, err := g5.set.Queued(); !errors.Is(err, reload.ErrClosed) {
		t.Fatalf("sibling of a failed spawn: %v", err)
	}
	if len(h.gens) != 1 {
		t.Fatalf("live generations %v", h.gens)
	}

	// Another strategy shares the listeners as before.
	p.Drover.Reload = string(reload.Restart)
	if g6 := spawn(1006); g6.set != g3.set {
		t.Fatal("reload = restart got a Sibling")
	}
}
