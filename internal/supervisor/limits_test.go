package supervisor

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

const mb = 1 << 20

// fakeSampler is a Sampler whose trees are functions of the fake time.
type fakeSampler struct {
	mu    sync.Mutex
	trees map[int]func(now time.Time) TreeUsage
	calls int
}

func (f *fakeSampler) SampleTrees(roots []int) map[int]TreeUsage {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	out := map[int]TreeUsage{}
	for _, r := range roots {
		if fn := f.trees[r]; fn != nil {
			out[r] = fn(time.Now())
		}
	}
	return out
}

func (f *fakeSampler) set(root int, fn func(now time.Time) TreeUsage) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.trees[root] = fn
}

func (f *fakeSampler) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// samplingHost is the fake host with the Sampler capability.
type samplingHost struct {
	*fakeHost
	*fakeSampler
}

// limitHarness is newHarness over a samplingHost: "web" with reload =
// bluegreen (ready at once) and limits, RUNNING after 1 s.
func limitHarness(t *testing.T, l config.Limits) (*harness, *fakeSampler) {
	t.Helper()
	fh := newFakeHost()
	fs := &fakeSampler{trees: map[int]func(time.Time) TreeUsage{}}
	lr := &logRec{}
	cfg := cfgOf(single("web", startsecs(time.Second), reloadBy(config.ReloadBlueGreen, 0),
		readyProbe("http://{probe}/", 10*time.Second), graceful(syscall.SIGQUIT, 5*time.Second),
		func(p *config.Process) { p.Drover.Limits = l }))
	s := New(cfg, samplingHost{fh, fs}, slog.New(lr))
	ctx, cancel := context.WithCancel(context.Background())
	hs := &harness{t: t, s: s, h: fh, log: lr, t0: time.Now(), cancel: cancel, runErr: make(chan error, 1)}
	s.Observe(func(e Event) {
		hs.evmu.Lock()
		hs.events = append(hs.events, e)
		hs.evmu.Unlock()
	})
	go func() { hs.runErr <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-hs.runErr
	})
	synctest.Wait()
	return hs, fs
}

// timersArmed is how many deadlines the core holds.
func (hs *harness) timersArmed() int {
	n, err := call(hs.s, context.Background(), func(c *core, _ *waiter, reply chan<- res[int]) {
		reply <- res[int]{v: len(c.timers)}
	})
	if err != nil {
		hs.t.Fatal(err)
	}
	return n
}

// ramp is a one-process tree whose RSS is base, growing by perSec from
// from on.
func ramp(pid int, t0 time.Time, base, perSec int64, from time.Duration) func(time.Time) TreeUsage {
	return func(now time.Time) TreeUsage {
		rss := base
		if d := now.Sub(t0) - from; d > 0 {
			rss += int64(float64(perSec) * d.Seconds())
		}
		return TreeUsage{{Pid: pid, RSS: rss}}
	}
}

func limitEvents(hs *harness) []LimitBreach {
	var out []LimitBreach
	for _, e := range hs.drain() {
		if e.Kind == EventLimit {
			out = append(out, *e.Limit)
		}
	}
	return out
}

// A tree over memory_limit for the grace window is reloaded blue/green:
// the log line, the event, and the new generation is watched afresh.
func TestMemoryLimitReloads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs, fs := limitHarness(t, config.Limits{Memory: 300 * mb, MemoryGrace: 10 * time.Second})
		old := hs.lastPid("web")
		// 200 MB, +20 MB/s from t=5s: over 300 MB after t=10s.
		fs.set(old, ramp(old, hs.t0, 200*mb, 20*mb, 5*time.Second))
		hs.wantState("web", Running)
		hs.sleepUntil(20500 * time.Millisecond)
		if n := len(hs.spawnTimes("web")); n != 1 {
			t.Fatalf("reloaded before the grace window ended: %d spawns", n)
		}
		// Samples at 1, 2, ... s: the first over the limit is at 11 s
		// (320 MB), held 10 s at 21 s.
		hs.sleepUntil(21 * time.Second)
		next := old + 1
		if sp := hs.spawnTimes("web"); len(sp) != 2 || sp[1] != 21*time.Second {
			t.Fatalf("spawns %v, want the reload at 21s", sp)
		}
		line := "WARN memory limit: 'web' process tree RSS 520 MB > 300 MB for 10s: reloading"
		if !hs.log.has(line) {
			t.Fatalf("log %q", hs.log.lines)
		}
		ev := limitEvents(hs)
		if len(ev) != 1 || ev[0] != (LimitBreach{Resource: "memory", Value: 520 * mb, Max: 300 * mb, Held: 10 * time.Second, Action: "reload"}) {
			t.Fatalf("events %+v", ev)
		}
		// The new generation is small; the old one got the graceful stop.
		fs.set(next, ramp(next, hs.t0, 100*mb, 0, 0))
		if sigs := hs.h.signalList(); len(sigs) != 1 || sigs[0].pid != old || sigs[0].sig != syscall.SIGQUIT {
			t.Fatalf("signals %+v", sigs)
		}
		hs.exit(old, 0)
		if !hs.log.has("INFO memory limit: 'web' reloaded") {
			t.Fatalf("log %q", hs.log.lines)
		}
		hs.sleepUntil(60 * time.Second)
		if n := len(hs.spawnTimes("web")); n != 2 || len(limitEvents(hs)) != 1 {
			t.Fatalf("%d spawns, events %+v after the reload", n, limitEvents(hs))
		}
		if in := hs.info("web"); in.Pid != next || in.State != Running {
			t.Fatalf("%+v", in)
		}
	})
}

// Spikes shorter than the grace window do nothing; one that dips under the
// limit starts the window again.
func TestMemoryGraceWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs, fs := limitHarness(t, config.Limits{Memory: 300 * mb, MemoryGrace: 5 * time.Second})
		pid := hs.lastPid("web")
		over := func(now time.Time) TreeUsage {
			s := now.Sub(hs.t0).Round(time.Second) / time.Second
			rss := int64(100 * mb)
			// Over at 3-7 s (held 4 s), 9-13 s (4 s), then 20 s on.
			if (s >= 3 && s <= 7) || (s >= 9 && s <= 13) || s >= 20 {
				rss = 400 * mb
			}
			return TreeUsage{{Pid: pid, RSS: rss}}
		}
		fs.set(pid, over)
		hs.sleepUntil(24500 * time.Millisecond)
		if n := len(hs.spawnTimes("web")); n != 1 {
			t.Fatalf("a spike shorter than the grace window reloaded: %v", hs.spawnTimes("web"))
		}
		hs.sleepUntil(25 * time.Second)
		if sp := hs.spawnTimes("web"); len(sp) != 2 || sp[1] != 25*time.Second {
			t.Fatalf("spawns %v, want the reload at 25s", sp)
		}
	})
}

// memory_action = signal:TERM with worker_memory_limit signals the worker
// over its limit, once, and never reloads; with memory_limit the biggest
// worker is signalled.
func TestMemoryLimitSignalsWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs, fs := limitHarness(t, config.Limits{Memory: 1000 * mb, WorkerMemory: 150 * mb, MemoryGrace: 2 * time.Second,
			MemoryAction: config.LimitAction{Signal: syscall.SIGTERM}})
		master := hs.lastPid("web")
		var mu sync.Mutex
		workers := []ProcUsage{{Pid: 501, RSS: 100 * mb}, {Pid: 502, RSS: 100 * mb}}
		fs.set(master, func(now time.Time) TreeUsage {
			mu.Lock()
			defer mu.Unlock()
			if now.Sub(hs.t0) >= 5*time.Second && workers[1].Pid == 502 {
				workers[1].RSS = 200 * mb // 502 leaks from 5 s
			}
			return append(TreeUsage{{Pid: master, RSS: 50 * mb}}, workers...)
		})
		hs.sleepUntil(7 * time.Second)
		sigs := hs.h.signalList()
		if len(sigs) != 1 || sigs[0].pid != 502 || sigs[0].sig != syscall.SIGTERM || sigs[0].group || hs.since(sigs[0].at) != 7*time.Second {
			t.Fatalf("signals %+v", sigs)
		}
		if !hs.log.has("WARN memory limit: 'web' worker 502 RSS 200 MB > 150 MB for 2s: sending TERM to worker 502") {
			t.Fatalf("log %q", hs.log.lines)
		}
		// 502 takes its time to exit: it is not signalled again.
		hs.sleepUntil(15 * time.Second)
		if n := len(hs.h.signalList()); n != 1 {
			t.Fatalf("signals %+v", hs.h.signalList())
		}
		// The master replaced it; now the tree is over 1000 MB: the
		// biggest worker gets the signal.
		mu.Lock()
		workers = []ProcUsage{{Pid: 501, RSS: 140 * mb}, {Pid: 503, RSS: 100 * mb}, {Pid: 504, RSS: 800 * mb}}
		mu.Unlock()
		hs.sleepUntil(17 * time.Second)
		if n := len(hs.h.signalList()); n != 1 {
			t.Fatalf("signalled within the grace window: %+v", hs.h.signalList())
		}
		hs.sleepUntil(18 * time.Second)
		sigs = hs.h.signalList()
		if len(sigs) != 2 || sigs[1].pid != 504 || sigs[1].sig != syscall.SIGTERM {
			t.Fatalf("signals %+v", sigs)
		}
		if !hs.log.has("WARN memory limit: 'web' process tree RSS 1090 MB > 1000 MB for 2s: sending TERM to worker 504") {
			t.Fatalf("log %q", hs.log.lines)
		}
		if n := len(hs.spawnTimes("web")); n != 1 {
			t.Fatalf("a signal action reloaded: %d spawns", n)
		}
		ev := limitEvents(hs)
		if len(ev) != 2 || ev[0].Worker != 502 || ev[0].Target != 502 || ev[1].Worker != 0 || ev[1].Target != 504 || ev[1].Action != "signal:TERM" {
			t.Fatalf("events %+v", ev)
		}
	})
}

// A signal action on a tree without workers (puma in single mode) reloads
// instead: signalling the master would take the service down.
func TestMemoryLimitSignalWithoutWorkerReloads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs, fs := limitHarness(t, config.Limits{Memory: 100 * mb, MemoryAction: config.LimitAction{Signal: syscall.SIGTERM}})
		pid := hs.lastPid("web")
		fs.set(pid, ramp(pid, hs.t0, 200*mb, 0, 0))
		hs.sleepUntil(2 * time.Second)
		if n := len(hs.spawnTimes("web")); n != 2 {
			t.Fatalf("%d spawns", n)
		}
		if !hs.log.has("WARN memory limit: 'web' process tree RSS 200 MB > 100 MB for 0s: no worker to signal: reloading") {
			t.Fatalf("log %q", hs.log.lines)
		}
	})
}

// cpu_limit: the tree's CPU time between samples over the limit for the
// grace window reloads.
func TestCPULimitReloads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs, fs := limitHarness(t, config.Limits{CPU: 150, CPUGrace: 3 * time.Second})
		pid := hs.lastPid("web")
		// Two processes, each busy 90% of one CPU from t=4s: 180%.
		fs.set(pid, func(now time.Time) TreeUsage {
			busy := max(now.Sub(hs.t0)-4*time.Second, 0) * 9 / 10
			return TreeUsage{{Pid: pid, CPU: busy}, {Pid: pid + 1000, CPU: busy}}
		})
		hs.sleepUntil(7500 * time.Millisecond)
		if n := len(hs.spawnTimes("web")); n != 1 {
			t.Fatalf("reloaded early: %v", hs.spawnTimes("web"))
		}
		hs.sleepUntil(8 * time.Second)
		if sp := hs.spawnTimes("web"); len(sp) != 2 || sp[1] != 8*time.Second {
			t.Fatalf("spawns %v", sp)
		}
		if !hs.log.has("WARN cpu limit: 'web' process tree CPU 180% > 150% for 3s: reloading") {
			t.Fatalf("log %q", hs.log.lines)
		}
	})
}

// Without limits nothing is sampled and no timer is armed: the idle
// daemon keeps zero wake-ups. With limits, sampling stops when the
// process stops.
func TestLimitSamplerOnlyWhileNeeded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs, fs := limitHarness(t, config.Limits{})
		hs.sleepUntil(time.Minute)
		if n := fs.count(); n != 0 || hs.timersArmed() != 0 {
			t.Fatalf("%d samples, %d timers without limits", n, hs.timersArmed())
		}
	})
	synctest.Test(t, func(t *testing.T) {
		hs, fs := limitHarness(t, config.Limits{Memory: 300 * mb, MemoryGrace: time.Second})
		pid := hs.lastPid("web")
		fs.set(pid, ramp(pid, hs.t0, 100*mb, 0, 0))
		hs.sleepUntil(10500 * time.Millisecond)
		if n := fs.count(); n != 10 { // RUNNING at 0 s (ready at once): 1, 2, ... 10 s
			t.Fatalf("%d samples in 10 s", n)
		}
		if err := hs.s.StopProcess(context.Background(), "web", false); err != nil {
			t.Fatal(err)
		}
		hs.exit(pid, 0)
		hs.wantState("web", Stopped)
		hs.sleepUntil(12 * time.Second)
		n := fs.count()
		hs.sleepUntil(time.Minute)
		if fs.count() != n || hs.timersArmed() != 0 {
			t.Fatalf("sampling went on after the stop: %d then %d samples, %d timers", n, fs.count(), hs.timersArmed())
		}
		// Started again, it is watched again.
		if err := hs.s.StartProcess(context.Background(), "web", false); err != nil {
			t.Fatal(err)
		}
		hs.sleepUntil(65 * time.Second)
		if fs.count() <= n {
			t.Fatalf("not watched after a start")
		}
		if strings.Contains(strings.Join(hs.log.lines, "\n"), "limit:") {
			t.Fatalf("log %q", hs.log.lines)
		}
	})
}
