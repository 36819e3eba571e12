package supervisor

import (
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/reload"
)

// fakeSteer makes fakeSockets steer: promoted records [new pid, old pid]
// of each Promote that steered; queued answers each pid's accept queue
// length.
type fakeSteer struct {
	mu       sync.Mutex
	promoted [][2]int
	queued   func(pid int) int
}

// fakeSockets hands out a distinct token per hold and follows which one
// serves, like the daemon's (without steering, Promote reports false).
type fakeSockets struct {
	h       *fakeHost
	name    string
	serving *reload.Set
	holds   map[*reload.Set]int
	pids    map[*reload.Set]int
	closed  bool
	refused bool
}

func (s *fakeSockets) Listen(beside bool) *reload.Set {
	if s.holds == nil {
		s.holds = map[*reload.Set]int{}
	}
	if s.serving == nil {
		s.serving = new(reload.Set)
	}
	l := s.serving
	if beside {
		l = new(reload.Set)
	}
	s.holds[l]++
	return l
}

func (s *fakeSockets) Release(l *reload.Set) { s.holds[l]-- }

func (s *fakeSockets) pidOf(l *reload.Set) int {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	for i := len(s.h.listeners) - 1; i >= 0; i-- {
		if s.h.listeners[i].l == l {
			return s.h.listeners[i].pid
		}
	}
	return 0
}

func (s *fakeSockets) Promote(l *reload.Set) bool {
	old := s.serving
	if l == old {
		return false
	}
	s.serving = l
	if s.h.steer == nil || s.holds[old] == 0 {
		return false
	}
	s.h.steer.mu.Lock()
	defer s.h.steer.mu.Unlock()
	s.h.steer.promoted = append(s.h.steer.promoted, [2]int{s.pidOf(l), s.pidOf(old)})
	return true
}

func (s *fakeSockets) Queued(l *reload.Set) int {
	if s.h.steer == nil || s.h.steer.queued == nil || l == s.serving {
		return 0
	}
	return s.h.steer.queued(s.pidOf(l))
}

func (s *fakeSockets) Close() { s.closed = true }

func (s *fakeSockets) Refuse() {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.refused = true
	s.h.refusals = append(s.h.refusals, "refuse "+s.name)
}

func (s *fakeSockets) Reopen() {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	if s.refused {
		s.h.refusals = append(s.h.refusals, "reopen "+s.name)
	}
	s.refused = false
}

// steerHarness is bgHarness on a steering host.
func steerHarness(t *testing.T, fs *fakeSteer) (*harness, *readyAfter, int) {
	t.Helper()
	ra := &readyAfter{delay: map[int]time.Duration{}, fail: map[int]error{}}
	opts := []func(*config.Process){startsecs(time.Second), reloadBy(config.ReloadBlueGreen, 0), sockets("tcp://127.0.0.1:8080"),
		readyProbe("http://{probe}/healthz", 10*time.Second), graceful(syscall.SIGQUIT, 5*time.Second)}
	hs := newHarness(t, cfgOf(single("web", opts...)), func(h *fakeHost) { h.ready, h.steer = ra.wait, fs })
	hs.wantState("web", Running)
	return hs, ra, hs.lastPid("web")
}

// TestBlueGreenDrain: once the new generation is ready it gets the new
// connections (Promote), and the old one is signalled only when its accept
// queue has been empty for drainGrace, checked every drainTick.
func TestBlueGreenDrain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fs := &fakeSteer{}
		hs, ra, old := steerHarness(t, fs)
		next := old + 1
		ra.set(next, 2*time.Second, nil)
		t0 := time.Now()
		busyUntil := t0.Add(2*time.Second + 100*time.Millisecond)
		fs.queued = func(pid int) int {
			if pid == old && time.Now().Before(busyUntil) {
				return 3
			}
			return 0
		}
		done := async(func() error { return hs.s.ReloadProcess(bg, "web") })
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if len(fs.promoted) != 1 || fs.promoted[0] != [2]int{next, old} {
			t.Fatalf("promoted %v", fs.promoted)
		}
		if sigs := hs.h.signalList(); len(sigs) != 0 {
			t.Fatalf("signalled before the queue drained: %+v", sigs)
		}
		if in := hs.info("web"); in.Pid != next || in.HandoffPid != old {
			t.Fatalf("after ready: %+v", in)
		}
		time.Sleep(time.Second)
		// Checks at 2.015 s, 2.030 s, ...: busy until 2.090 s, empty at
		// 2.105 s, which is drainGrace after the last busy check.
		sigs := hs.h.signalList()
		if len(sigs) != 1 || sigs[0].pid != old || sigs[0].sig != syscall.SIGQUIT || sigs[0].at.Sub(t0) != 2105*time.Millisecond {
			t.Fatalf("signals %+v", sigs)
		}
		if !hs.log.has("INFO handing off 'web': pid " + itoa(old) + "'s accept queue is empty; sending SIGQUIT to pid " + itoa(old)) {
			t.Fatalf("log %q", hs.log.lines)
		}
		hs.exit(old, 0)
		if err, ok := ready(t, done); !ok || err != nil {
			t.Fatalf("reload: %v %v", err, ok)
		}
	})
}

// TestBlueGreenDrainBounded: a queue that never empties delays the old
// generation's signal by drainMax at most, and says so.
func TestBlueGreenDrainBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fs := &fakeSteer{queued: func(int) int { return 1 }}
		hs, ra, old := steerHarness(t, fs)
		ra.set(old+1, 0, nil)
		t0 := time.Now()
		done := async(func() error { return hs.s.ReloadProcess(bg, "web") })
		time.Sleep(2 * time.Second)
		synctest.Wait()
		sigs := hs.h.signalList()
		// The first check at or after drainMax: 15 ms + 66 × 15 ms.
		if len(sigs) != 1 || sigs[0].pid != old || sigs[0].at.Sub(t0) != 1005*time.Millisecond {
			t.Fatalf("signals %+v", sigs)
		}
		if hs.log.count("WARN handing off 'web': pid "+itoa(old)+" still has 1 connections queued after 1s; sending SIGQUIT anyway") != 1 {
			t.Fatalf("log %q", hs.log.lines)
		}
		hs.exit(old, 0)
		if err, ok := ready(t, done); !ok || err != nil {
			t.Fatalf("reload: %v %v", err, ok)
		}
	})
}

// TestBlueGreenDrainStop: a stop request during the drain stops both
// generations with the stop signal, once each; the drain sends nothing.
func TestBlueGreenDrainStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fs := &fakeSteer{queued: func(int) int { return 1 }}
		hs, ra, old := steerHarness(t, fs)
		next := old + 1
		ra.set(next, 0, nil)
		done := async(func() error { return hs.s.ReloadProcess(bg, "web") })
		synctest.Wait()
		stopped := async(func() error { return hs.s.StopProcess(bg, "web", true) })
		synctest.Wait()
		time.Sleep(2 * time.Second)
		synctest.Wait()
		var got []string
		for _, s := range hs.h.signalList() {
			got = append(got, itoa(s.pid)+" "+signame(s.sig))
		}
		if strings.Join(got, ",") != itoa(next)+" SIGTERM,"+itoa(old)+" SIGTERM" {
			t.Fatalf("signals %v", got)
		}
		hs.exit(old, 0)
		hs.exit(next, 0)
		if err, ok := ready(t, done); !ok || err == nil {
			t.Fatalf("reload: %v %v", err, ok)
		}
		if err, ok := ready(t, stopped); !ok || err != nil {
			t.Fatalf("stop: %v %v", err, ok)
		}
	})
}
