package supervisor

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

// limitedHost is a fakeHost that asks for at most limit concurrent spawns
// and records how many ran at once and in which order they began.
type limitedHost struct {
	*fakeHost
	limit int

	mu      sync.Mutex
	running int
	peak    int
	order   []string
	hold    chan struct{} // when set, each Spawn waits for one receive
}

func (h *limitedHost) SpawnConcurrency() int { return h.limit }

func (h *limitedHost) Spawn(req SpawnRequest) (Child, error) {
	h.mu.Lock()
	h.running++
	h.peak = max(h.peak, h.running)
	h.order = append(h.order, req.Process.Name)
	hold := h.hold
	h.mu.Unlock()
	if hold != nil {
		<-hold
	}
	defer func() {
		h.mu.Lock()
		h.running--
		h.mu.Unlock()
	}()
	return h.fakeHost.Spawn(req)
}

// A host with a SpawnConcurrency gets at most its limit of concurrent spawns, in the
// start order, and every process still reaches RUNNING. With limit 1 the
// order check below admits only the exact start order.
func TestSpawnConcurrencyBoundsSpawns(t *testing.T) {
	for _, limit := range []int{1, 3} {
		t.Run(fmt.Sprint("limit", limit), func(t *testing.T) { testSpawnLimit(t, limit) })
	}
}

func testSpawnLimit(t *testing.T, limit int) {
	const n = 40
	h := &limitedHost{fakeHost: newFakeHost(), limit: limit, hold: make(chan struct{})}
	s := New(manyGroups(n), h, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	res := make(chan error, 1)
	go func() {
		r, err := s.StartAll(ctx, true)
		if err == nil && (len(r) != n || r[n-1].Status != CodeSuccess) {
			err = context.DeadlineExceeded
		}
		res <- err
	}()
	for range n {
		select {
		case h.hold <- struct{}{}:
		case <-ctx.Done():
			t.Fatal("spawns did not all begin")
		}
	}
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.peak > h.limit {
		t.Errorf("%d spawns ran at once; limit %d", h.peak, h.limit)
	}
	// The queue hands jobs out in start order, but limit workers race from
	// dequeue into Spawn, so a job can begin at most limit-1 places before
	// its turn (and, while a worker is descheduled, any number after).
	pos := make(map[string]int, n)
	for i, name := range h.order {
		pos[name] = i
	}
	for i, name := range sortedNames(manyGroups(n)) {
		if p, ok := pos[name]; !ok || p < i-(h.limit-1) {
			t.Fatalf("%s (start position %d) began spawn %d; order %v", name, i, p, h.order)
		}
	}
}

func sortedNames(cfg *config.Config) []string {
	s := New(cfg, nil, nil)
	var out []string
	for _, g := range s.core.order {
		for _, p := range g.procs {
			out = append(out, p.cfg.Name)
		}
	}
	return out
}

// BenchmarkStart500Limited is BenchmarkStart500 through a host that asks
// for 8 concurrent spawns (the daemon's), reporting the goroutines that
// existed at the peak of the burst.
func BenchmarkStart500Limited(b *testing.B) {
	benchStartBurst(b, 8)
}

// BenchmarkStart500Unlimited is the same burst with one goroutine per spawn.
func BenchmarkStart500Unlimited(b *testing.B) {
	benchStartBurst(b, 0)
}

func benchStartBurst(b *testing.B, limit int) {
	cfg := manyGroups(500)
	b.ReportAllocs()
	peak := 0
	for b.Loop() {
		h := &limitedHost{fakeHost: newFakeHost(), limit: limit, hold: make(chan struct{})}
		s := New(cfg, h, nil)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = s.Run(ctx); close(done) }()
		res := make(chan error, 1)
		go func() { _, err := s.StartAll(ctx, true); res <- err }()
		// Each spawn waits for a go-ahead, so the goroutine count is read
		// while the rest of the burst is queued.
		h.hold <- struct{}{}
		for range 499 {
			peak = max(peak, runtime.NumGoroutine())
			h.hold <- struct{}{}
		}
		if err := <-res; err != nil {
			b.Fatal(err)
		}
		cancel()
		<-done
	}
	b.ReportMetric(float64(peak), "peak-goroutines")
}
