package supervisor

import (
	"context"
	"errors"
	"slices"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

func graceful(sig syscall.Signal, d time.Duration) func(*config.Process) {
	return func(p *config.Process) { p.Drover.GracefulStopSignal, p.Drover.GracefulTimeout = sig, d }
}

// readyAfter is a fake probe: each pid is ready after its delay (ready at
// once when none is set); an error delay value fails it then.
type readyAfter struct {
	mu    sync.Mutex
	delay map[int]time.Duration
	fail  map[int]error
	calls []int
}

func (r *readyAfter) set(pid int, d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delay[pid], r.fail[pid] = d, err
}

func (r *readyAfter) wait(ctx context.Context, _ *config.Process, pid int) error {
	r.mu.Lock()
	r.calls = append(r.calls, pid)
	d, err := r.delay[pid], r.fail[pid]
	r.mu.Unlock()
	select {
	case <-time.After(d):
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// bgHarness starts "web" with reload = bluegreen on a fake probe; the first
// generation is ready at once.
func bgHarness(t *testing.T, opts ...func(*config.Process)) (*harness, *readyAfter, int) {
	t.Helper()
	ra := &readyAfter{delay: map[int]time.Duration{}, fail: map[int]error{}}
	base := []func(*config.Process){startsecs(time.Second), reloadBy(config.ReloadBlueGreen, 0),
		readyProbe("http://{probe}/healthz", 10*time.Second), graceful(syscall.SIGQUIT, 5*time.Second)}
	hs := newHarness(t, cfgOf(single("web", append(base, opts...)...)), func(h *fakeHost) { h.ready = ra.wait })
	hs.wantState("web", Running)
	return hs, ra, hs.lastPid("web")
}

// The hand-off: the new generation starts beside the old one, and once it
// is ready the old one gets the graceful signal; the request ends when the
// old one exited. RUNNING throughout, no respawn, HandoffPid meanwhile.
func TestBlueGreenHandOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs, ra, old := bgHarness(t)
		next := old + 1
		ra.set(next, 2*time.Second, nil)
		t0 := time.Now()
		done := async(func() error { return hs.s.ReloadProcess(bg, "web") })
		synctest.Wait()
		if sp := hs.spawnTimes("web"); len(sp) != 2 {
			t.Fatalf("spawns %v", sp)
		}
		if in := hs.info("web"); in.Pid != old || in.HandoffPid != next || in.State != Running || in.Reloading != config.ReloadBlueGreen {
			t.Fatalf("before ready: %+v", in)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		sigs := hs.h.signalList()
		if len(sigs) != 1 || sigs[0].pid != old || sigs[0].sig != syscall.SIGQUIT || sigs[0].group || sigs[0].at.Sub(t0) != 2*time.Second {
			t.Fatalf("signals %+v", sigs)
		}
		if in := hs.info("web"); in.Pid != next || in.HandoffPid != old || in.State != Running {
			t.Fatalf("after ready: %+v", in)
		}
		if _, ok := ready(t, done); ok {
			t.Fatal("replied before the old generation exited")
		}
		time.Sleep(300 * time.Millisecond) // in-flight requests drain
		hs.exit(old, 0)
		if err, ok := ready(t, done); !ok || err != nil {
			t.Fatalf("reload: %v %v", err, ok)
		}
		if in := hs.info("web"); in.Pid != next || in.HandoffPid != 0 || in.State != Running || in.Reloading != "" {
			t.Fatalf("after: %+v", in)
		}
		if n := len(hs.spawnTimes("web")); n != 2 {
			t.Fatalf("%d spawns: the old generation's exit respawned", n)
		}
		if tr := hs.transitions("web"); !slices.Equal(tr, []string{"STOPPED>STARTING", "STARTING>RUNNING"}) {
			t.Fatalf("transitions %v", tr)
		}
		if !hs.log.has("INFO reloaded: web (bluegreen, pid " + itoa(next) + ")") {
			t.Fatalf("log %q", hs.log.lines)
		}
		// A second hand-off from the new generation works the same way.
		done = async(func() error { return hs.s.ReloadProcess(bg, "web") })
		synctest.Wait()
		hs.exit(next, 0)
		if err, ok := ready(t, done); !ok || err != nil {
			t.Fatalf("second reload: %v %v", err, ok)
		}
		if in := hs.info("web"); in.Pid != next+1 || in.State != Running {
			t.Fatalf("after the second: %+v", in)
		}
	})
}

// An old generation that ignores the graceful signal gets SIGKILL on its
// group after GracefulTimeout (stopasgroup sends the graceful one to the
// group too).
func TestBlueGreenKillsAfterGracefulTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs, _, old := bgHarness(t, func(p *config.Process) { p.StopAsGroup = true })
		done := async(func() error { return hs.s.ReloadProcess(bg, "web") })
		synctest.Wait()
		t0 := time.Now()
		time.Sleep(5*time.Second - 1)
		synctest.Wait()
		if sigs := hs.h.signalList(); len(sigs) != 1 || sigs[0] != (sigCall{old, syscall.SIGQUIT, true, t0}) {
			t.Fatalf("signals before the timeout %+v", sigs)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		sigs := hs.h.signalList()
		if len(sigs) != 2 || sigs[1].pid != old || sigs[1].sig != syscall.SIGKILL || !sigs[1].group {
			t.Fatalf("signals %+v", sigs)
		}
		hs.killed(old, syscall.SIGKILL)
		if err, ok := ready(t, done); !ok || err != nil {
			t.Fatalf("reload: %v %v", err, ok)
		}
		hs.wantState("web", Running)
	})
}

// A new generation that is not ready in time, or exits first, or cannot
// be spawned costs nothing: it is stopped and the old one keeps serving.
func TestBlueGreenFailuresKeepTheOldGeneration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs, ra, old := bgHarness(t)
		// Not ready within ReadyTimeout (10 s).
		next := old + 1
		ra.set(next, time.Hour, nil)
		t0 := time.Now()
		done := async(func() error { return hs.s.ReloadProcess(bg, "web") })
		time.Sleep(10 * time.Second)
		synctest.Wait()
		sigs := hs.h.signalList()
		if len(sigs) != 1 || sigs[0] != (sigCall{next, syscall.SIGQUIT, false, t0.Add(10 * time.Second)}) {
			t.Fatalf("signals %+v", sigs)
		}
		if _, ok := ready(t, done); ok {
			t.Fatal("replied before the new generation was gone")
		}
		time.Sleep(5 * time.Second) // it ignores QUIT: KILL on its group
		synctest.Wait()
		if sigs := hs.h.signalList(); len(sigs) != 2 || sigs[1].pid != next || sigs[1].sig != syscall.SIGKILL || !sigs[1].group {
			t.Fatalf("signals %+v", sigs)
		}
		hs.killed(next, syscall.SIGKILL)
		err, _ := ready(t, done)
		wantDetail(t, err, CodeFailed, "not ready within 10s")
		wantDetail(t, err, CodeFailed, "pid "+itoa(old)+" keeps serving")
		if in := hs.info("web"); in.Pid != old || in.HandoffPid != 0 || in.State != Running || in.Reloading != "" {
			t.Fatalf("%+v", in)
		}

		// The probe fails.
		next = old + 2
		ra.set(next, time.Second, errors.New("probe: 502"))
		done = async(func() error { return hs.s.ReloadProcess(bg, "web") })
		time.Sleep(time.Second)
		synctest.Wait()
		hs.exit(next, 0)
		err, _ = ready(t, done)
		wantDetail(t, err, CodeFailed, "probe: 502")

		// Exits before it is ready.
		// (The probe notices first; the exit's status decides the answer.)
		next = old + 3
		ra.set(next, time.Second, ErrExitedBeforeReady)
		done = async(func() error { return hs.s.ReloadProcess(bg, "web") })
		time.Sleep(time.Second)
		if _, ok := ready(t, done); ok {
			t.Fatal("answered on the probe's report, before the exit")
		}
		hs.exit(next, 3)
		err, ok := ready(t, done)
		if !ok {
			t.Fatal("still waiting after the new generation exited")
		}
		wantDetail(t, err, CodeFailed, "exited before it was ready (exit status 3)")

		// Cannot be spawned.
		hs.h.mu.Lock()
		hs.h.spawnErr["web"] = errors.New("no such file")
		hs.h.mu.Unlock()
		wantDetail(t, hs.s.ReloadProcess(bg, "web"), CodeSpawnError, "could not start (no such file)")

		if in := hs.info("web"); in.Pid != old || in.State != Running || in.HandoffPid != 0 {
			t.Fatalf("%+v", in)
		}
		for _, s := range hs.h.signalList() {
			if s.pid == old {
				t.Fatalf("the old generation was signalled: %+v", s)
			}
		}
		if tr := hs.transitions("web"); !slices.Equal(tr, []string{"STOPPED>STARTING", "STARTING>RUNNING"}) {
			t.Fatalf("transitions %v", tr)
		}
	})
}

// Without a probe the new generation must stay up startsecs.
func TestBlueGreenWithoutProbeUsesStartsecs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("web", startsecs(3*time.Second), reloadBy(config.ReloadBlueGreen, 0))), nil)
		hs.sleepUntil(3 * time.Second)
		old := hs.lastPid("web")
		t0 := time.Now()
		done := async(func() error { return hs.s.ReloadProcess(bg, "web") })
		time.Sleep(3*time.Second - 1)
		synctest.Wait()
		if n := len(hs.h.signalList()); n != 0 {
			t.Fatalf("%d signals before startsecs", n)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if sigs := hs.h.signalList(); len(sigs) != 1 || sigs[0] != (sigCall{old, syscall.SIGTERM, false, t0.Add(3 * time.Second)}) {
			t.Fatalf("signals %+v", sigs)
		}
		hs.exit(old, 0)
		if err, ok := ready(t, done); !ok || err != nil {
			t.Fatalf("%v %v", err, ok)
		}
	})
}

// A crash of the old generation during the hand-off: the new one goes on
// and takes over without a respawn.
func TestBlueGreenOldCrashes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs, ra, old := bgHarness(t)
		next := old + 1
		ra.set(next, 2*time.Second, nil)
		done := async(func() error { return hs.s.ReloadProcess(bg, "web") })
		synctest.Wait()
		hs.killed(old, syscall.SIGSEGV)
		if in := hs.info("web"); in.Pid != next || in.State != Running {
			t.Fatalf("%+v", in)
		}
		time.Sleep(2 * time.Second)
		if err, ok := ready(t, done); !ok || err != nil {
			t.Fatalf("%v %v", err, ok)
		}
		if n := len(hs.spawnTimes("web")); n != 2 {
			t.Fatalf("%d spawns", n)
		}
		if n := len(hs.h.signalList()); n != 0 {
			t.Fatalf("%d signals", n)
		}
		if !hs.log.has("WARN 'web': pid " + itoa(old) + " exited during the hand-off (terminated by SIGSEGV); continuing with the new generation, pid " + itoa(next)) {
			t.Fatalf("log %q", hs.log.lines)
		}
	})
}

// A stop during the hand-off stops both generations; a second reload
// meanwhile is refused.
func TestBlueGreenStopAndConcurrentReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs, ra, old := bgHarness(t)
		next := old + 1
		ra.set(next, time.Hour, nil)
		done := async(func() error { return hs.s.ReloadProcess(bg, "web") })
		synctest.Wait()
		wantDetail(t, hs.s.ReloadProcess(bg, "web"), CodeFailed, "a reload (bluegreen) is already in progress")
		stopped := async(func() error { return hs.s.StopProcess(bg, "web", true) })
		synctest.Wait()
		sigs := hs.h.signalList()
		var got []int
		for _, s := range sigs {
			if s.sig != syscall.SIGTERM {
				t.Fatalf("signals %+v", sigs)
			}
			got = append(got, s.pid)
		}
		slices.Sort(got)
		if !slices.Equal(got, []int{old, next}) {
			t.Fatalf("signalled %v, want both generations", got)
		}
		// STOPPED once both generations are.
		hs.exit(old, 0)
		if in := hs.info("web"); in.State != Stopping || in.Pid != next || in.HandoffPid != 0 {
			t.Fatalf("one generation left: %+v", in)
		}
		if _, ok := ready(t, stopped); ok {
			t.Fatal("the stop replied while the new generation still runs")
		}
		hs.exit(next, 0)
		if err, ok := ready(t, stopped); !ok || err != nil {
			t.Fatalf("stop: %v %v", err, ok)
		}
		err, ok := ready(t, done)
		if !ok {
			t.Fatal("reload still waiting")
		}
		wantDetail(t, err, CodeFailed, "stopped during the hand-off")
		if in := hs.info("web"); in.State != Stopped || in.Pid != 0 || in.HandoffPid != 0 {
			t.Fatalf("%+v", in)
		}
		if n := len(hs.spawnTimes("web")); n != 2 {
			t.Fatalf("%d spawns", n)
		}
		if tr := hs.transitions("web"); !slices.Equal(tr, []string{"STOPPED>STARTING", "STARTING>RUNNING", "RUNNING>STOPPING", "STOPPING>STOPPED"}) {
			t.Fatalf("transitions %v", tr)
		}

		// After the new generation took over: the old one, still draining,
		// is stopped too (and killed after stopwaitsecs).
		if err := hs.s.StartProcess(bg, "web", true); err != nil {
			t.Fatal(err)
		}
		old = hs.lastPid("web")
		next = old + 1
		done = async(func() error { return hs.s.ReloadProcess(bg, "web") })
		synctest.Wait()
		if in := hs.info("web"); in.Pid != next || in.HandoffPid != old {
			t.Fatalf("%+v", in)
		}
		stopped = async(func() error { return hs.s.StopProcess(bg, "web", true) })
		synctest.Wait()
		hs.exit(next, 0)
		hs.wantState("web", Stopping)
		time.Sleep(10 * time.Second) // stopwaitsecs
		synctest.Wait()
		sigs = hs.h.signalList()
		if last := sigs[len(sigs)-1]; last.pid != old || last.sig != syscall.SIGKILL {
			t.Fatalf("signals %+v", sigs)
		}
		hs.killed(old, syscall.SIGKILL)
		if err, ok := ready(t, stopped); !ok || err != nil {
			t.Fatalf("stop: %v %v", err, ok)
		}
		err, _ = ready(t, done)
		wantDetail(t, err, CodeFailed, "stopped during the hand-off")
		hs.wantState("web", Stopped)
	})
}

// With ready= a start is RUNNING when the probe answers, not after
// startsecs; a probe that fails stops the process and counts as a start
// failure (BACKOFF, then a retry).
func TestReadyGatesStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ra := &readyAfter{delay: map[int]time.Duration{}, fail: map[int]error{}}
		ra.set(101, 5*time.Second, nil)
		ra.set(102, 2*time.Second, errors.New("probe: connection refused"))
		hs := newHarness(t, cfgOf(
			single("ok", startsecs(time.Second), readyProbe("tcp://127.0.0.1:1", 10*time.Second)),
		), func(h *fakeHost) { h.ready = ra.wait })
		hs.sleepUntil(5*time.Second - 1)
		hs.wantState("ok", Starting)
		hs.sleepUntil(5 * time.Second)
		hs.wantState("ok", Running)
		if !hs.log.has("INFO success: ok entered RUNNING state, its readiness probe (tcp://127.0.0.1:1) answered") {
			t.Fatalf("log %q", hs.log.lines)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		ra := &readyAfter{delay: map[int]time.Duration{}, fail: map[int]error{}}
		ra.set(101, 2*time.Second, errors.New("probe: connection refused"))
		hs := newHarness(t, cfgOf(
			single("bad", startsecs(time.Second), readyProbe("tcp://127.0.0.1:1", 10*time.Second), stopwait(3*time.Second)),
		), func(h *fakeHost) { h.ready = ra.wait })
		hs.sleepUntil(2 * time.Second)
		hs.wantState("bad", Starting)
		if sigs := hs.h.signalList(); len(sigs) != 1 || sigs[0].pid != 101 || sigs[0].sig != syscall.SIGTERM {
			t.Fatalf("signals %+v", sigs)
		}
		hs.sleepUntil(5 * time.Second) // ignores TERM: SIGKILL after stopwaitsecs
		if sigs := hs.h.signalList(); len(sigs) != 2 || sigs[1].sig != syscall.SIGKILL {
			t.Fatalf("signals %+v", sigs)
		}
		hs.killed(101, syscall.SIGKILL)
		hs.wantState("bad", Backoff)
		if in := hs.info("bad"); in.SpawnErr != "Not ready: probe: connection refused" {
			t.Fatalf("%+v", in)
		}
		hs.sleepUntil(6 * time.Second) // retry after 1 s; 102 is ready at once
		hs.wantState("bad", Running)
	})
}

// A crash of the old generation while the new one's spawn is in flight:
// the normal exit rules apply (autorestart), and the new one is stopped
// when its spawn returns.
func TestBlueGreenOldCrashesBeforeSpawn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs, _, old := bgHarness(t, restart(config.AutorestartTrue))
		gate := make(chan struct{})
		hs.h.mu.Lock()
		hs.h.gate["web"] = gate
		hs.h.mu.Unlock()
		done := async(func() error { return hs.s.ReloadProcess(bg, "web") })
		synctest.Wait()
		time.Sleep(2 * time.Second)
		hs.killed(old, syscall.SIGSEGV)
		hs.h.mu.Lock()
		delete(hs.h.gate, "web")
		hs.h.mu.Unlock()
		close(gate) // both spawns (the hand-off's and the autorestart's) return
		synctest.Wait()
		sigs := hs.h.signalList()
		if len(sigs) != 1 || sigs[0].sig != syscall.SIGQUIT {
			t.Fatalf("signals %+v", sigs)
		}
		next := sigs[0].pid
		if in := hs.info("web"); in.Pid == next || in.Pid == old || in.Pid == 0 {
			t.Fatalf("%+v (stopped %d)", in, next)
		}
		hs.exit(next, 0)
		err, ok := ready(t, done)
		if !ok {
			t.Fatal("no reply")
		}
		wantDetail(t, err, CodeFailed, "the serving generation exited (terminated by SIGSEGV) before the new one was up")
		hs.wantState("web", Running)
		if n := len(hs.spawnTimes("web")); n != 3 {
			t.Fatalf("%d spawns", n)
		}
	})
}
