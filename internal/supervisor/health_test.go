package supervisor

import (
	"context"
	"errors"
	"slices"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

func (c *fakeChild) CheckHealth(ctx context.Context, probe config.Ready) error {
	c.h.mu.Lock()
	f := c.h.health
	c.h.mu.Unlock()
	if f == nil {
		return nil
	}
	return f(ctx, c.p, c.pid)
}

func healthCheck(spec string, interval time.Duration, threshold int) func(*config.Process) {
	r, err := config.ParseReady(spec)
	if err != nil {
		panic(err)
	}
	return func(p *config.Process) {
		p.Drover.Health = config.Health{Probe: r, Interval: interval, Timeout: 2 * time.Second, Threshold: threshold}
	}
}

// health_interval and health_threshold, exactly: a check every 10 s from
// RUNNING; two failures followed by a pass do nothing; three in a row
// publish EventHealth and restart the program (no reload=), whose new
// generation is checked from its own RUNNING on. A program without
// health= has no timer.
func TestHealthIntervalThreshold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls []time.Duration
		var pids []int
		results := []bool{true, true, true, false, false, true, false, false, false, true}
		var t0 time.Time
		hs := newHarness(t, cfgOf(
			single("web", healthCheck("tcp://127.0.0.1:9", 10*time.Second, 3)),
			single("plain"),
		), func(h *fakeHost) {
			t0 = time.Now()
			h.health = func(ctx context.Context, p *config.Process, pid int) error {
				i := len(calls)
				calls = append(calls, time.Since(t0))
				pids = append(pids, pid)
				if i < len(results) && results[i] {
					return nil
				}
				return errors.New("connection refused")
			}
		})
		pid := hs.lastPid("web")
		hs.sleepUntil(91 * time.Second)
		// RUNNING at 1 s; checks at 11, 21, ... 91: the 7th to 9th fail.
		if want := secs(11, 21, 31, 41, 51, 61, 71, 81, 91); !slices.Equal(calls, want) {
			t.Fatalf("checks at %v, want %v", calls, want)
		}
		sig := hs.h.signalList()
		if len(sig) != 1 || sig[0].pid != pid || sig[0].sig != syscall.SIGTERM || hs.since(sig[0].at) != 91*time.Second {
			t.Fatalf("signals %+v: one TERM to %d at 91s", sig, pid)
		}
		var failed []HealthFailure
		for _, e := range hs.drain() {
			if e.Kind == EventHealth {
				if e.Pid != pid || e.Name != "web" {
					t.Errorf("event %+v", e)
				}
				failed = append(failed, *e.Health)
			}
		}
		if len(failed) != 1 || failed[0] != (HealthFailure{Failures: 3, Error: "connection refused", Action: "restart"}) {
			t.Fatalf("health events %+v", failed)
		}
		for _, l := range []string{
			"WARN health: 'web' (pid " + itoa(pid) + ") failed 1/3: connection refused",
			"INFO health: 'web' passes again after 2 failure(s)",
			"WARN health: 'web' failed 3 checks in a row: restarting (restart)",
		} {
			if !hs.log.has(l) {
				t.Fatalf("no %q in %q", l, hs.log.lines)
			}
		}
		hs.killed(pid, syscall.SIGTERM)
		hs.sleepUntil(92 * time.Second)
		hs.wantState("web", Running)
		newPid := hs.lastPid("web")
		hs.sleepUntil(103 * time.Second)
		if len(calls) != 10 || calls[9] != 102*time.Second || pids[9] != newPid {
			t.Fatalf("after the restart: checks %v pids %v (new pid %d)", calls, pids, newPid)
		}
		if !hs.log.has("INFO health: 'web' restarted") {
			t.Fatal(hs.log.lines)
		}
		// Only web's health timer is armed: plain has none.
		done := make(chan int)
		hs.s.post(func(c *core) { done <- len(c.timers) })
		if n := <-done; n != 1 {
			t.Fatalf("%d timers armed, want web's health check alone", n)
		}
	})
}

// A stopped program is not checked; starting it again checks it again.
func TestHealthStopsWithTheProcess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := 0
		hs := newHarness(t, cfgOf(single("web", healthCheck("tcp://127.0.0.1:9", 5*time.Second, 2))), func(h *fakeHost) {
			h.health = func(context.Context, *config.Process, int) error { n++; return nil }
		})
		hs.sleepUntil(12 * time.Second) // checks at 6, 11
		done := async(func() error { return hs.s.StopProcess(context.Background(), "web", false) })
		synctest.Wait()
		hs.killed(hs.lastPid("web"), syscall.SIGTERM)
		if err, ok := ready(t, done); !ok || err != nil {
			t.Fatal(err, ok)
		}
		hs.sleepUntil(time.Minute)
		if n != 2 {
			t.Fatalf("%d checks, want 2 (none while STOPPED)", n)
		}
		if err := hs.s.StartProcess(context.Background(), "web", false); err != nil {
			t.Fatal(err)
		}
		hs.sleepUntil(time.Minute + 6*time.Second)
		if n != 3 {
			t.Fatalf("%d checks after the start", n)
		}
	})
}
