package reload

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakeGen is a generation whose behaviour the test scripts.
type fakeGen struct {
	Gen
	exit      chan struct{}
	readyIn   time.Duration // ready this long after Ready was called; <0 never
	crashIn   time.Duration // exits by itself this long after start; 0 never
	stopTakes time.Duration // exits this long after Stop; <0 ignores Stop
}

// fakeHost records every call with the fake clock's time since t0.
type fakeHost struct {
	t0    time.Time
	mu    sync.Mutex
	calls []string
	gens  map[int]*fakeGen
	next  int
	plan  func(slot, number int) *fakeGen // the next generation's script
}

func (h *fakeHost) record(format string, a ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, fmt.Sprintf("%v ", time.Since(h.t0))+fmt.Sprintf(format, a...))
}

func (h *fakeHost) exitAfter(g *fakeGen, d time.Duration) {
	time.AfterFunc(d, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		select {
		case <-g.exit:
		default:
			h.calls = append(h.calls, fmt.Sprintf("%v exit %d", time.Since(h.t0), g.Number))
			close(g.exit)
		}
	})
}

func (h *fakeHost) gen(number, pid int, g *fakeGen) Gen {
	g.exit = make(chan struct{})
	g.Gen = Gen{Number: number, Pid: pid, Exited: g.exit}
	h.gens[number] = g
	if g.crashIn > 0 {
		h.exitAfter(g, g.crashIn)
	}
	return g.Gen
}

func (h *fakeHost) ops() Ops {
	return Ops{
		Start: func(ctx context.Context, slot int) (Gen, error) {
			h.next++
			n := h.next
			h.record("start slot %d gen %d", slot, n)
			g := h.plan(slot, n)
			if g == nil {
				return Gen{}, errors.New("spawn failed")
			}
			return h.gen(n, 1000+n, g), nil
		},
		Ready: func(ctx context.Context, g Gen) error {
			fg := h.gens[g.Number]
			if fg.readyIn < 0 {
				<-ctx.Done()
				return ctx.Err()
			}
			select {
			case <-time.After(fg.readyIn):
				h.record("ready %d", g.Number)
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		},
		Stop: func(g Gen) error {
			h.record("stop %d", g.Number)
			if fg := h.gens[g.Number]; fg.stopTakes >= 0 {
				h.exitAfter(fg, fg.stopTakes)
			}
			return nil
		},
		Kill: func(g Gen) error {
			h.record("kill %d", g.Number)
			h.exitAfter(h.gens[g.Number], 0)
			return nil
		},
	}
}

// run starts old generations (numbers 1..len(olds)) and runs one Plan.
func runPlan(t *testing.T, olds []*fakeGen, plan func(slot, number int) *fakeGen) ([]Gen, []string, time.Duration, error) {
	t.Helper()
	h := &fakeHost{t0: time.Now(), gens: map[int]*fakeGen{}, plan: plan}
	var old []Gen
	for _, o := range olds {
		h.next++
		old = append(old, h.gen(h.next, 1000+h.next, o))
	}
	p := &Plan{Ops: h.ops(), Timeouts: Timeouts{Ready: 10 * time.Second, Graceful: 5 * time.Second, Kill: time.Second}}
	got, err := p.Run(context.Background(), old)
	took := time.Since(h.t0)
	synctest.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	return got, slices.Clone(h.calls), took, err
}

func same(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("calls:\n got  %q\n want %q", got, want)
	}
}

func TestPlanSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		got, calls, took, err := runPlan(t, []*fakeGen{{stopTakes: 2 * time.Second}},
			func(int, int) *fakeGen { return &fakeGen{readyIn: 3 * time.Second} })
		if err != nil || len(got) != 1 || got[0].Number != 2 {
			t.Fatalf("got %v, %v", got, err)
		}
		// The old generation is told to stop only once the new one is ready.
		same(t, calls, []string{"0s start slot 0 gen 2", "3s ready 2", "3s stop 1", "5s exit 1"})
		if took != 5*time.Second {
			t.Errorf("took %v", took)
		}
	})
}

func TestPlanNeverReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		got, calls, took, err := runPlan(t, []*fakeGen{{stopTakes: time.Second}},
			func(int, int) *fakeGen { return &fakeGen{readyIn: -1, stopTakes: 2 * time.Second} })
		var se *StageError
		if !errors.As(err, &se) || se.Stage != "ready" || se.Gen != 2 || !errors.Is(err, ErrNotReady) ||
			!errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v", err)
		}
		if got[0].Number != 1 {
			t.Errorf("slot runs gen %d, want the old one", got[0].Number)
		}
		// The old generation is never signalled.
		same(t, calls, []string{"0s start slot 0 gen 2", "10s stop 2", "12s exit 2"})
		if took != 12*time.Second {
			t.Errorf("took %v", took)
		}
		t.Log(err)
	})
}

func TestPlanNewIgnoresStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, calls, _, err := runPlan(t, []*fakeGen{{}},
			func(int, int) *fakeGen { return &fakeGen{readyIn: -1, stopTakes: -1} })
		if !errors.Is(err, ErrNotReady) {
			t.Fatalf("err %v", err)
		}
		same(t, calls, []string{"0s start slot 0 gen 2", "10s stop 2", "15s kill 2", "15s exit 2"})
	})
}

func TestPlanCrashBeforeReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		got, calls, took, err := runPlan(t, []*fakeGen{{}},
			func(int, int) *fakeGen { return &fakeGen{readyIn: -1, crashIn: 2 * time.Second} })
		if !errors.Is(err, ErrExited) || got[0].Number != 1 {
			t.Fatalf("got %v err %v", got, err)
		}
		same(t, calls, []string{"0s start slot 0 gen 2", "2s exit 2"})
		if took != 2*time.Second {
			t.Errorf("took %v", took)
		}
	})
}

func TestPlanStartFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		got, calls, _, err := runPlan(t, []*fakeGen{{}}, func(int, int) *fakeGen { return nil })
		var se *StageError
		if !errors.As(err, &se) || se.Stage != "start" || got[0].Number != 1 {
			t.Fatalf("got %v err %v", got, err)
		}
		same(t, calls, []string{"0s start slot 0 gen 2"})
	})
}

func TestPlanOldExitsEarly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		got, calls, _, err := runPlan(t, []*fakeGen{{crashIn: time.Second}},
			func(int, int) *fakeGen { return &fakeGen{readyIn: 3 * time.Second} })
		if err != nil || got[0].Number != 2 {
			t.Fatalf("got %v err %v", got, err)
		}
		// No stop for a generation already gone.
		same(t, calls, []string{"0s start slot 0 gen 2", "1s exit 1", "3s ready 2"})
	})
}

func TestPlanOldIgnoresGracefulStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, calls, took, err := runPlan(t, []*fakeGen{{stopTakes: -1}},
			func(int, int) *fakeGen { return &fakeGen{readyIn: time.Second} })
		if err != nil {
			t.Fatal(err)
		}
		same(t, calls, []string{"0s start slot 0 gen 2", "1s ready 2", "1s stop 1", "6s kill 1", "6s exit 1"})
		if took != 6*time.Second {
			t.Errorf("took %v", took)
		}
	})
}

// TestPlanRolling: slots are handed off one at a time; a failure stops
// the roll, keeps the replaced slots new and the rest old.
func TestPlanRolling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		olds := []*fakeGen{{stopTakes: time.Second}, {stopTakes: time.Second}, {stopTakes: time.Second}}
		got, calls, _, err := runPlan(t, olds, func(slot, n int) *fakeGen {
			if slot == 1 {
				return &fakeGen{readyIn: -1, crashIn: 2 * time.Second}
			}
			return &fakeGen{readyIn: time.Second}
		})
		var se *StageError
		if !errors.As(err, &se) || se.Slot != 1 || se.Replaced != 1 || !errors.Is(err, ErrExited) {
			t.Fatalf("err %v", err)
		}
		nums := []int{got[0].Number, got[1].Number, got[2].Number}
		if !slices.Equal(nums, []int{4, 2, 3}) {
			t.Errorf("slots run %v", nums)
		}
		same(t, calls, []string{"0s start slot 0 gen 4", "1s ready 4", "1s stop 1", "2s exit 1",
			"2s start slot 1 gen 5", "4s exit 5"})
		t.Log(err)
	})
	synctest.Test(t, func(t *testing.T) {
		olds := []*fakeGen{{stopTakes: time.Second}, {stopTakes: time.Second}}
		got, calls, _, err := runPlan(t, olds, func(int, int) *fakeGen { return &fakeGen{readyIn: time.Second} })
		if err != nil || got[0].Number != 3 || got[1].Number != 4 {
			t.Fatalf("got %v err %v", got, err)
		}
		same(t, calls, []string{"0s start slot 0 gen 3", "1s ready 3", "1s stop 1", "2s exit 1",
			"2s start slot 1 gen 4", "3s ready 4", "3s stop 2", "4s exit 2"})
	})
}

// TestPlanInProgress: a second Run while one runs is refused at once and
// changes nothing; after the first ends, Run works again.
func TestPlanInProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &fakeHost{t0: time.Now(), gens: map[int]*fakeGen{},
			plan: func(int, int) *fakeGen { return &fakeGen{readyIn: 3 * time.Second} }}
		p := &Plan{Ops: h.ops(), Timeouts: Timeouts{Ready: 10 * time.Second, Graceful: 5 * time.Second}}
		h.next = 1
		old := []Gen{h.gen(1, 1001, &fakeGen{stopTakes: 0})}
		done := make(chan error)
		go func() {
			_, err := p.Run(context.Background(), old)
			done <- err
		}()
		synctest.Wait() // the first Run is blocked waiting for readiness
		if got, err := p.Run(context.Background(), old); !errors.Is(err, ErrReloadInProgress) || got != nil {
			t.Fatalf("second Run: %v %v", got, err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if _, err := p.Run(context.Background(), []Gen{h.gens[2].Gen}); err != nil {
			t.Fatalf("Run after the first ended: %v", err)
		}
	})
}

// TestPlanCancelled: cancelling the context during the ready wait stops
// the new generation and leaves the old one alone.
func TestPlanCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &fakeHost{t0: time.Now(), gens: map[int]*fakeGen{},
			plan: func(int, int) *fakeGen { return &fakeGen{readyIn: -1, stopTakes: 0} }}
		p := &Plan{Ops: h.ops(), Timeouts: Timeouts{Ready: 10 * time.Second, Graceful: 5 * time.Second}}
		h.next = 1
		old := []Gen{h.gen(1, 1001, &fakeGen{})}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(2*time.Second, cancel)
		got, err := p.Run(ctx, old)
		if !errors.Is(err, context.Canceled) || got[0].Number != 1 {
			t.Fatalf("got %v err %v", got, err)
		}
		synctest.Wait()
		same(t, h.calls, []string{"0s start slot 0 gen 2", "2s stop 2", "2s exit 2"})
	})
}

// TestPlanFirstStart: with no old generation the plan only starts and
// waits for readiness.
func TestPlanFirstStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		got, calls, _, err := runPlan(t, nil, nil)
		if err != nil || len(got) != 0 || len(calls) != 0 {
			t.Fatalf("no slots: %v %v %v", got, err, calls)
		}
		h := &fakeHost{t0: time.Now(), gens: map[int]*fakeGen{},
			plan: func(int, int) *fakeGen { return &fakeGen{readyIn: time.Second} }}
		p := &Plan{Ops: h.ops(), Timeouts: Timeouts{Ready: 10 * time.Second, Graceful: 5 * time.Second}}
		got, err = p.Run(context.Background(), []Gen{{}})
		if err != nil || got[0].Number != 1 {
			t.Fatalf("got %v err %v", got, err)
		}
		same(t, h.calls, []string{"0s start slot 0 gen 1", "1s ready 1"})
	})
}

// TestPlanDefaultTimeouts: zero Timeouts mean 60 s to get ready and 10 s
// to stop gracefully.
func TestPlanDefaultTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &fakeHost{t0: time.Now(), gens: map[int]*fakeGen{},
			plan: func(int, int) *fakeGen { return &fakeGen{readyIn: -1, stopTakes: -1} }}
		p := &Plan{Ops: h.ops()}
		h.next = 1
		_, err := p.Run(context.Background(), []Gen{h.gen(1, 1001, &fakeGen{})})
		if !errors.Is(err, ErrNotReady) {
			t.Fatal(err)
		}
		synctest.Wait()
		same(t, h.calls, []string{"0s start slot 0 gen 2", "1m0s stop 2", "1m10s kill 2", "1m10s exit 2"})
	})
}
