package supervisor

import (
	"context"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

// The counters follow what happens: a start, a ready generation, exits by
// status and by signal, a blue/green reload (a second spawn).
func TestStatsCounters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs, _ := limitHarness(t, config.Limits{})
		ctx := context.Background()
		stats := func() Stats {
			t.Helper()
			st, err := hs.s.Stats(ctx)
			if err != nil || len(st) != 1 {
				t.Fatalf("Stats: %v %v", st, err)
			}
			return st[0]
		}
		hs.wantState("web", Running)
		pid := hs.lastPid("web")
		st := stats()
		if st.Starts != 1 || st.Pid != pid || st.State != Running || !st.HasReadyWait || st.Reloads != 0 || len(st.Exits) != 0 {
			t.Fatalf("after the start: %+v", st)
		}
		hs.killed(pid, syscall.SIGKILL) // autorestart
		hs.sleepUntil(5 * time.Second)
		hs.wantState("web", Running)
		pid = hs.lastPid("web")
		if err := hs.s.StopProcess(ctx, "web", false); err != nil {
			t.Fatal(err)
		}
		hs.exit(pid, 3)
		st = stats()
		if st.Starts != 2 || st.Pid != 0 || st.Exits["SIGKILL"] != 1 || st.Exits["3"] != 1 || len(st.Exits) != 2 {
			t.Fatalf("after a kill and a stop: %+v", st)
		}
		if err := hs.s.StartProcess(ctx, "web", true); err != nil {
			t.Fatal(err)
		}
		old := hs.lastPid("web")
		done := make(chan error, 1)
		go func() { done <- hs.s.ReloadProcess(ctx, "web") }()
		synctest.Wait()
		hs.exit(old, 0) // the old generation leaves after its graceful signal
		if err := <-done; err != nil {
			t.Fatalf("reload: %v", err)
		}
		st = stats()
		if st.Starts != 4 || st.Reloads != 1 || st.ReloadFailures != 0 || st.LastReloadFailed || st.Exits["0"] != 1 {
			t.Fatalf("after a reload: %+v", st)
		}
		// A refused reload (not running) is no reload.
		if err := hs.s.StopProcess(ctx, "web", false); err != nil {
			t.Fatal(err)
		}
		hs.exit(hs.lastPid("web"), 0)
		if err := hs.s.ReloadProcess(ctx, "web"); err == nil {
			t.Fatal("reload of a stopped process succeeded")
		}
		synctest.Wait()
		if st = stats(); st.Reloads != 1 {
			t.Fatalf("refused reload counted: %+v", st)
		}
	})
}

// Usage samples on demand only; the CPU percent is the average since the
// previous sample within usageWindow, else unknown.
func TestUsageOnDemand(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs, fs := limitHarness(t, config.Limits{})
		ctx := context.Background()
		pid := hs.lastPid("web")
		t0 := time.Now()
		fs.set(pid, func(now time.Time) TreeUsage {
			cpu := now.Sub(t0) / 4 // a quarter of one CPU
			return TreeUsage{{Pid: pid, RSS: 10 << 20, CPU: cpu}, {Pid: pid + 1000, RSS: 5 << 20, CPU: cpu}}
		})
		hs.sleepUntil(time.Minute)
		if n := fs.count(); n != 0 {
			t.Fatalf("%d samples without a client", n)
		}
		u, err := hs.s.Usage(ctx)
		if err != nil || len(u) != 1 {
			t.Fatal(u, err)
		}
		if u[0].Procs != 2 || u[0].RSS != 15<<20 || u[0].CPUPercent != -1 || u[0].CPU <= 0 {
			t.Fatalf("first sample %+v", u[0])
		}
		time.Sleep(2 * time.Second)
		u, _ = hs.s.Usage(ctx)
		if u[0].CPUPercent != 50 {
			t.Fatalf("second sample %+v, want 50%% (two processes at 25%%)", u[0])
		}
		time.Sleep(usageWindow + time.Second)
		if u, _ = hs.s.Usage(ctx); u[0].CPUPercent != -1 {
			t.Fatalf("a sample after the window %+v", u[0])
		}
		if n := fs.count(); n != 3 {
			t.Fatalf("%d samples for 3 asks", n)
		}
	})
}
