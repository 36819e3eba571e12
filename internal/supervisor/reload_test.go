package supervisor

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

func wantDetail(t *testing.T, err error, code Code, substr string) {
	t.Helper()
	wantCode(t, err, code)
	if !strings.Contains(err.Error(), substr) {
		t.Fatalf("error %q does not say %q", err, substr)
	}
}

// reexec: the reload signal goes to the master and the request succeeds
// when the successor is adopted.
func TestReloadReexecSucceedsOnAdoption(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("web", startsecs(0), reloadBy(config.ReloadReexec, 0))), nil)
		pid := hs.lastPid("web")
		done := async(func() error { return hs.s.ReloadProcess(bg, "web") })
		synctest.Wait()
		sigs := hs.h.signalList()
		if len(sigs) != 1 || sigs[0].pid != pid || sigs[0].sig != syscall.SIGUSR2 {
			t.Fatalf("signals %+v, want USR2 to %d", sigs, pid)
		}
		if in := hs.info("web"); in.Reloading != config.ReloadReexec {
			t.Fatalf("info during the reload %+v", in)
		}
		if _, ok := ready(t, done); ok {
			t.Fatal("replied before the old master exited")
		}
		hs.sleepUntil(3 * time.Second) // the new master boots meanwhile
		hs.h.setSucc(pid, 700)
		hs.exit(pid, 0)
		if err, ok := ready(t, done); !ok || err != nil {
			t.Fatalf("reload: %v %v", err, ok)
		}
		if in := hs.info("web"); in.Pid != 700 || in.State != Running || in.Reloading != "" {
			t.Fatalf("%+v", in)
		}
		if !hs.log.has("INFO reloaded: web (reexec, pid 700)") {
			t.Fatalf("log %q", hs.log.lines)
		}
	})
}

// reexec with no successor: the exit takes the normal path and the reload
// says so; an old master that never exits times out.
func TestReloadReexecFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("web", startsecs(0), reloadBy(config.ReloadReexec, syscall.SIGUSR2), readyProbe("", 30*time.Second))), nil)
		hs.sleepUntil(5 * time.Second)
		pid := hs.lastPid("web")
		done := async(func() error { return hs.s.ReloadProcess(bg, "web") })
		synctest.Wait()
		hs.exit(pid, 1)
		err, ok := ready(t, done)
		if !ok {
			t.Fatal("no reply")
		}
		wantDetail(t, err, CodeFailed, "with no re-exec'd successor")
		if n := len(hs.spawnTimes("web")); n != 2 {
			t.Fatalf("%d spawns, want the autorestart", n)
		}
		hs.wantState("web", Running)

		t0 := time.Now()
		done = async(func() error { return hs.s.ReloadProcess(bg, "web") })
		time.Sleep(30*time.Second - 1)
		if _, ok := ready(t, done); ok {
			t.Fatal("timed out early")
		}
		time.Sleep(time.Nanosecond)
		err, ok = ready(t, done)
		if !ok {
			t.Fatalf("no timeout after %v", time.Since(t0))
		}
		wantDetail(t, err, CodeFailed, "no re-exec'd successor within 30s")
		hs.wantState("web", Running)
		// The failed reload does not block the next one.
		done = async(func() error { return hs.s.ReloadProcess(bg, "web") })
		synctest.Wait()
		hs.h.setSucc(hs.lastPid("web"), 800)
		hs.exit(hs.lastPid("web"), 0)
		if err, ok := ready(t, done); !ok || err != nil {
			t.Fatalf("%v %v", err, ok)
		}
	})
}

// signal: without a readiness probe the request succeeds once the signal
// is sent; with one it waits for the hook, and a timeout is an error that
// leaves the process running as it was.
func TestReloadSignal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var probed []int
		readyAfter := time.Duration(0)
		hs := newHarness(t, cfgOf(
			single("plain", startsecs(0), reloadBy(config.ReloadSignal, syscall.SIGHUP)),
			single("puma", startsecs(0), reloadBy(config.ReloadSignal, syscall.SIGUSR1), readyProbe("http://127.0.0.1:1/up", 10*time.Second)),
		), func(h *fakeHost) {
			h.ready = func(ctx context.Context, p *config.Process, pid int) error {
				probed = append(probed, pid)
				select {
				case <-time.After(readyAfter):
					return nil
				case <-ctx.Done():
					return context.Cause(ctx)
				}
			}
		})
		probed = nil // puma's start was gated on its probe
		if err := hs.s.ReloadProcess(bg, "plain"); err != nil {
			t.Fatal(err)
		}
		plain := hs.lastPid("plain")
		if sigs := hs.h.signalList(); len(sigs) != 1 || sigs[0] != (sigCall{plain, syscall.SIGHUP, false, sigs[0].at}) {
			t.Fatalf("signals %+v", sigs)
		}
		if len(probed) != 0 {
			t.Fatal("probed without a probe")
		}

		puma := hs.lastPid("puma")
		readyAfter = 2 * time.Second
		t0 := time.Now()
		if err := hs.s.ReloadProcess(bg, "puma"); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(t0); d != 2*time.Second || !slices.Equal(probed, []int{puma}) {
			t.Fatalf("replied after %v, probed %v", d, probed)
		}
		// Readiness was reset just before the signal (after plain's one).
		hs.h.mu.Lock()
		prepared := slices.Clone(hs.h.prepared)
		hs.h.mu.Unlock()
		if !slices.Equal(prepared, [][2]int{{plain, 0}, {puma, 1}}) {
			t.Fatalf("prepared %v", prepared)
		}

		readyAfter = time.Hour
		t0 = time.Now()
		err := hs.s.ReloadProcess(bg, "puma")
		wantDetail(t, err, CodeFailed, "not ready within 10s")
		if d := time.Since(t0); d != 10*time.Second {
			t.Fatalf("timed out after %v", d)
		}
		if in := hs.info("puma"); in.State != Running || in.Pid != puma || in.Reloading != "" {
			t.Fatalf("%+v", in)
		}
		if n := len(hs.spawnTimes("puma")); n != 1 {
			t.Fatalf("%d spawns", n)
		}
	})
}

// A crash of the serving generation during the readiness wait ends the
// wait at once, fails the reload and takes the normal exit path.
func TestReloadCrashDuringReadiness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		hs := newHarness(t, cfgOf(single("puma", startsecs(0), reloadBy(config.ReloadSignal, syscall.SIGUSR1), readyProbe("notify", 0))),
			func(h *fakeHost) {
				h.ready = func(ctx context.Context, _ *config.Process, _ int) error {
					if calls++; calls == 1 {
						return nil // ready at the start
					}
					<-ctx.Done()
					return ctx.Err()
				}
			})
		hs.sleepUntil(5 * time.Second)
		pid := hs.lastPid("puma")
		done := async(func() error { return hs.s.ReloadProcess(bg, "puma") })
		hs.sleepUntil(6 * time.Second)
		hs.killed(pid, syscall.SIGSEGV)
		err, ok := ready(t, done)
		if !ok {
			t.Fatal("the reload still waits after the crash")
		}
		wantDetail(t, err, CodeFailed, "exited during the reload (terminated by SIGSEGV")
		if !hs.log.has("WARN reload of 'puma': pid " + itoa(pid) + " exited during the reload (terminated by SIGSEGV)") {
			t.Fatalf("log %q", hs.log.lines)
		}
		if n := len(hs.spawnTimes("puma")); n != 2 {
			t.Fatalf("%d spawns, want the autorestart", n)
		}
	})
}

// A second reload of the same process while one runs is refused; another
// process reloads meanwhile; once the first ends, reloads are accepted.
func TestReloadConcurrentRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		hs := newHarness(t, cfgOf(
			single("a", startsecs(0), reloadBy(config.ReloadSignal, syscall.SIGHUP), readyProbe("tcp://127.0.0.1:1", 0)),
			single("b", startsecs(0), reloadBy(config.ReloadSignal, syscall.SIGHUP)),
		), func(h *fakeHost) {
			h.ready = func(ctx context.Context, _ *config.Process, _ int) error {
				select {
				case <-release:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		})
		first := async(func() error { return hs.s.ReloadProcess(bg, "a") })
		synctest.Wait()
		wantDetail(t, hs.s.ReloadProcess(bg, "a"), CodeFailed, "a: a reload (signal) is already in progress")
		if err := hs.s.ReloadProcess(bg, "b"); err != nil {
			t.Fatal(err)
		}
		close(release)
		if err, ok := ready(t, first); !ok || err != nil {
			t.Fatalf("%v %v", err, ok)
		}
		if err := hs.s.ReloadProcess(bg, "a"); err != nil {
			t.Fatal(err)
		}
		// A requester that goes away frees the process too.
		ctx, cancel := context.WithCancel(bg)
		hs.h.mu.Lock()
		hs.h.ready = func(ctx context.Context, _ *config.Process, _ int) error { <-ctx.Done(); return ctx.Err() }
		hs.h.mu.Unlock()
		gone := async(func() error { return hs.s.ReloadProcess(ctx, "a") })
		synctest.Wait()
		cancel()
		if err, ok := ready(t, gone); !ok || !errors.Is(err, context.Canceled) {
			t.Fatalf("%v %v", err, ok)
		}
		if in := hs.info("a"); in.Reloading != "" {
			t.Fatalf("still reloading: %+v", in)
		}
	})
}

func TestReloadRefusals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(
			single("idle", manual, reloadBy(config.ReloadSignal, syscall.SIGHUP)),
			single("idle2", manual),
			single("nosig", startsecs(0), reloadBy(config.ReloadSignal, 0)),
			single("odd", startsecs(0), reloadBy("sideways", 0)),
			single("starting", startsecs(5*time.Second), reloadBy(config.ReloadSignal, syscall.SIGHUP)),
		), nil)
		wantDetail(t, hs.s.ReloadProcess(bg, "idle"), CodeNotRunning, "idle")
		wantDetail(t, hs.s.ReloadProcess(bg, "idle2"), CodeNotRunning, "idle2")
		wantDetail(t, hs.s.ReloadProcess(bg, "nosig"), CodeFailed, "needs reload_signal")
		wantDetail(t, hs.s.ReloadProcess(bg, "odd"), CodeFailed, `unknown reload strategy "sideways"`)
		wantCode(t, hs.s.ReloadProcess(bg, "nope"), CodeBadName)
		wantCode(t, hs.s.ReloadProcess(bg, "idle:*"), CodeBadName)
		// STARTING has a pid: an in-place reload is allowed.
		if err := hs.s.ReloadProcess(bg, "starting"); err != nil {
			t.Fatal(err)
		}
		if len(hs.h.signalList()) != 1 {
			t.Fatalf("signals %+v", hs.h.signalList())
		}
	})
}

// restart (the default): stop, start, reply once RUNNING.
func TestReloadRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("app", startsecs(2*time.Second))), nil)
		hs.sleepUntil(5 * time.Second)
		old := hs.lastPid("app")
		done := async(func() error { return hs.s.ReloadProcess(bg, "app") })
		synctest.Wait()
		hs.wantState("app", Stopping)
		hs.killed(old, syscall.SIGTERM)
		hs.wantState("app", Starting)
		hs.sleepUntil(7*time.Second - 1)
		if _, ok := ready(t, done); ok {
			t.Fatal("replied before RUNNING")
		}
		hs.sleepUntil(7 * time.Second)
		if err, ok := ready(t, done); !ok || err != nil {
			t.Fatalf("%v %v", err, ok)
		}
		if in := hs.info("app"); in.Pid == old || in.State != Running {
			t.Fatalf("%+v", in)
		}
		// A restart whose requester leaves still completes.
		ctx, cancel := context.WithCancel(bg)
		gone := async(func() error { return hs.s.ReloadProcess(ctx, "app") })
		synctest.Wait()
		cancel()
		if err, ok := ready(t, gone); !ok || !errors.Is(err, context.Canceled) {
			t.Fatalf("%v %v", err, ok)
		}
		hs.killed(hs.lastPid("app"), syscall.SIGTERM)
		hs.sleepUntil(10 * time.Second)
		if in := hs.info("app"); in.State != Running || in.Reloading != "" {
			t.Fatalf("%+v", in)
		}
		if n := len(hs.spawnTimes("app")); n != 3 {
			t.Fatalf("%d spawns", n)
		}
	})
}

// A group reload rolls one process at a time and stops at the first
// failure; processes that are not running are skipped.
func TestReloadGroupRolls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex // the start probes run at once
		var order []int
		fail := map[int]bool{}
		hs := newHarness(t, cfgOf(grp("web", 10,
			prog("web_0", startsecs(0), reloadBy(config.ReloadSignal, syscall.SIGUSR1), readyProbe("http://{probe}/", 0)),
			prog("web_1", startsecs(0), reloadBy(config.ReloadSignal, syscall.SIGUSR1), readyProbe("http://{probe}/", 0)),
			prog("web_2", startsecs(0), reloadBy(config.ReloadSignal, syscall.SIGUSR1), readyProbe("http://{probe}/", 0)),
			prog("web_3", manual, reloadBy(config.ReloadSignal, syscall.SIGUSR1)),
		)), func(h *fakeHost) {
			h.ready = func(ctx context.Context, _ *config.Process, pid int) error {
				mu.Lock()
				order = append(order, pid)
				failed := fail[pid]
				mu.Unlock()
				time.Sleep(time.Second) // each one takes a second to be ready
				if failed {
					return errors.New("probe: 502")
				}
				return nil
			}
		})
		hs.sleepUntil(time.Second) // their starts are gated on the probe
		mu.Lock()
		order = nil
		mu.Unlock()
		t0 := time.Now()
		rs, err := hs.s.ReloadGroup(bg, "web", 1)
		if err != nil || len(rs) != 3 || time.Since(t0) != 3*time.Second {
			t.Fatalf("%v %+v after %v", err, rs, time.Since(t0))
		}
		for _, r := range rs {
			if r.Status != CodeSuccess {
				t.Fatalf("%+v", rs)
			}
		}
		// Reload signals went out one after the other, each after the
		// previous one was ready.
		var at []time.Duration
		for _, s := range hs.h.signalList() {
			at = append(at, s.at.Sub(t0))
		}
		if !slices.Equal(at, secs(0, 1, 2)) {
			t.Fatalf("signals at %v", at)
		}
		mu.Lock()
		fail[order[1]] = true
		mu.Unlock()
		rs, err = hs.s.ReloadGroup(bg, "web", 1)
		if err != nil || len(rs) != 3 || rs[0].Status != CodeSuccess || rs[1].Status != CodeFailed ||
			!strings.Contains(rs[2].Description, "not reloaded: the reload of web:web_1 failed") {
			t.Fatalf("%v %+v", err, rs)
		}
		if n := len(hs.h.signalList()); n != 5 {
			t.Fatalf("%d signals, want 5 (web_2 not touched)", n)
		}
		all, err := hs.s.ReloadAll(bg, 0)
		if err != nil || len(all) != 3 {
			t.Fatalf("%v %+v", err, all)
		}
		_, err = hs.s.ReloadGroup(bg, "nope", 1)
		wantCode(t, err, CodeBadName)
	})
}

// With a batch of 2, two processes reload together and the next two once
// both are done; a failure in a batch stops the roll after it.
func TestReloadGroupBatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		failing := map[int]bool{}
		var ps []*config.Process
		for i := range 5 {
			ps = append(ps, prog("web_"+itoa(i), startsecs(0), reloadBy(config.ReloadSignal, syscall.SIGUSR1), readyProbe("http://{probe}/", 0)))
		}
		hs := newHarness(t, cfgOf(grp("web", 10, ps...)), func(h *fakeHost) {
			h.ready = func(ctx context.Context, _ *config.Process, pid int) error {
				time.Sleep(time.Second)
				mu.Lock()
				defer mu.Unlock()
				if failing[pid] {
					return errors.New("probe: 502")
				}
				return nil
			}
		})
		hs.sleepUntil(time.Second)
		t0 := time.Now()
		rs, err := hs.s.ReloadGroup(bg, "web", 2)
		if err != nil || len(rs) != 5 || time.Since(t0) != 3*time.Second {
			t.Fatalf("%v %+v after %v", err, rs, time.Since(t0))
		}
		var at []time.Duration
		for _, s := range hs.h.signalList() {
			at = append(at, s.at.Sub(t0))
		}
		if !slices.Equal(at, secs(0, 0, 1, 1, 2)) {
			t.Fatalf("signals at %v", at)
		}
		mu.Lock()
		failing[hs.info("web:web_1").Pid] = true
		mu.Unlock()
		rs, err = hs.s.ReloadGroup(bg, "web", 2)
		if err != nil || rs[0].Status != CodeSuccess || rs[1].Status != CodeFailed ||
			rs[2].Status != CodeFailed || !strings.Contains(rs[4].Description, "not reloaded: the reload of web:web_1 failed") {
			t.Fatalf("%v %+v", err, rs)
		}
		if n := len(hs.h.signalList()); n != 7 {
			t.Fatalf("%d signals, want 7 (only the first batch)", n)
		}
	})
}
