package supervisor

import (
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

// fakeSteer is a Steerer: queued answers each pid's accept queue length.
type fakeSteer struct {
	mu       sync.Mutex
	promoted [][2]int // newPid, oldPid
	queued   func(pid int) int
}

func (h *fakeHost) Promote(_ *config.Process, newPid, oldPid int) bool {
	if h.steer == nil {
		return false
	}
	h.steer.mu.Lock()
	defer h.steer.mu.Unlock()
	h.steer.promoted = append(h.steer.promoted, [2]int{newPid, oldPid})
	return true
}

func (h *fakeHost) Queued(_ *config.Process, pid int) int {
	if h.steer == nil || h.steer.queued == nil {
		return 0
	}
	return h.steer.queued(pid)
}

// steerHarness is bgHarness on a steering host.
func steerHarness(t *testing.T, fs *fakeSteer) (*harness, *readyAfter, int) {
	t.Helper()
	ra := &readyAfter{delay: map[int]time.Duration{}, fail: map[int]error{}}
	opts := []func(*config.Process){startsecs(time.Second), reloadBy(ReloadBlueGreen, 0),
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
