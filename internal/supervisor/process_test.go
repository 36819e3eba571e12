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

// STARTING->RUNNING happens exactly startsecs after the spawn.
func TestStartsecsExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("web", startsecs(3*time.Second))), nil)
		hs.wantState("web", Starting)
		hs.sleepUntil(3*time.Second - time.Nanosecond)
		hs.wantState("web", Starting)
		hs.sleepUntil(3 * time.Second)
		hs.wantState("web", Running)
		if got, want := hs.transitions("web"), []string{"STOPPED>STARTING", "STARTING>RUNNING"}; !slices.Equal(got, want) {
			t.Fatalf("transitions %v, want %v", got, want)
		}
		pid := hs.lastPid("web")
		for _, line := range []string{
			"INFO spawned: 'web' with pid " + itoa(pid),
			"INFO success: web entered RUNNING state, process has stayed up for > than 3 seconds (startsecs)",
		} {
			if !hs.log.has(line) {
				t.Errorf("missing log %q in %q", line, hs.log.lines)
			}
		}
		in := hs.info("web")
		if in.Pid != pid || in.Now-in.Start != 3 {
			t.Fatalf("info %+v", in)
		}
		// A steady daemon holds no timers and no deferred replies.
		var timers, waiters int
		hs.inspect(func(c *core) { timers, waiters = len(c.timers), len(c.waiters) })
		if timers != 0 || waiters != 0 {
			t.Fatalf("idle: %d timers, %d waiters", timers, waiters)
		}
	})
}

func TestStartsecsZeroRunsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("w", startsecs(0))), nil)
		hs.wantState("w", Running)
		if !hs.log.has("INFO success: w entered RUNNING state, process has stayed up for > than 0 seconds (startsecs)") {
			t.Fatal(hs.log.lines)
		}
	})
}

// Spawns at t=0,1,3,6 then FATAL with startretries=3, whatever autorestart.
func TestBackoffLinearThenFatal(t *testing.T) {
	for _, ar := range []config.Autorestart{config.AutorestartFalse, config.AutorestartTrue} {
		t.Run(ar.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				hs := newHarness(t, cfgOf(single("bad", retries(3), restart(ar))), nil)
				for i, at := range secs(0, 1, 3, 6) {
					hs.sleepUntil(at)
					if n := len(hs.spawnTimes("bad")); n != i+1 {
						t.Fatalf("at %v: %d spawns, want %d", at, n, i+1)
					}
					hs.exit(hs.lastPid("bad"), 0) // any code: exited before startsecs
				}
				if got := hs.spawnTimes("bad"); !slices.Equal(got, secs(0, 1, 3, 6)) {
					t.Fatalf("spawn times %v", got)
				}
				hs.wantState("bad", Fatal)
				var tries []int
				for _, e := range hs.drain() {
					if e.To == Backoff || e.To == Starting {
						tries = append(tries, e.Tries)
					}
				}
				if want := []int{0, 1, 1, 2, 2, 3, 3, 4}; !slices.Equal(tries, want) {
					t.Fatalf("tries %v, want %v", tries, want)
				}
				if !hs.log.has("INFO gave up: bad entered FATAL state, too many start retries too quickly") ||
					!hs.log.has("WARN exited: bad (exit status 0; not expected)") {
					t.Fatal(hs.log.lines)
				}
				in := hs.info("bad")
				if in.SpawnErr != msgTooQuickly || in.ExitStatus != 0 {
					t.Fatalf("info %+v", in)
				}
				hs.sleepUntil(time.Minute)
				if n := len(hs.spawnTimes("bad")); n != 4 {
					t.Fatalf("FATAL was left: %d spawns", n)
				}
			})
		})
	}
}

// A spawn error goes to BACKOFF with the error as spawnerr.
func TestSpawnErrorBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("nf", retries(1))), func(h *fakeHost) {
			h.spawnErr["nf"] = errors.New("can't find command '/bin/nf'")
		})
		hs.wantState("nf", Backoff)
		hs.sleepUntil(time.Second)
		hs.wantState("nf", Fatal)
		in := hs.info("nf")
		if in.SpawnErr != "can't find command '/bin/nf'" {
			t.Fatalf("info %+v", in)
		}
		if !hs.log.has("INFO spawnerr: can't find command '/bin/nf'") {
			t.Fatal(hs.log.lines)
		}
	})
}

// RUNNING->EXITED and the autorestart decision, for each autorestart value
// and exit kind.
func TestExitAutorestart(t *testing.T) {
	type tc struct {
		ar       config.Autorestart
		status   syscall.WaitStatus
		expected bool
		restart  bool
		log      string
	}
	code := func(n int) syscall.WaitStatus { return syscall.WaitStatus(n << 8) }
	cases := map[string]tc{
		"true/0":         {config.AutorestartTrue, code(0), true, true, "INFO exited: p (exit status 0; expected)"},
		"true/1":         {config.AutorestartTrue, code(1), false, true, "WARN exited: p (exit status 1; not expected)"},
		"unexpected/0":   {config.AutorestartUnexpected, code(0), true, false, "INFO exited: p (exit status 0; expected)"},
		"unexpected/2":   {config.AutorestartUnexpected, code(2), true, false, "INFO exited: p (exit status 2; expected)"},
		"unexpected/1":   {config.AutorestartUnexpected, code(1), false, true, "WARN exited: p (exit status 1; not expected)"},
		"unexpected/sig": {config.AutorestartUnexpected, syscall.WaitStatus(syscall.SIGSEGV), false, true, "WARN exited: p (terminated by SIGSEGV; not expected)"},
		"false/1":        {config.AutorestartFalse, code(1), false, false, "WARN exited: p (exit status 1; not expected)"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				hs := newHarness(t, cfgOf(single("p", restart(c.ar), func(p *config.Process) { p.ExitCodes = []int{0, 2} })), nil)
				hs.sleepUntil(5 * time.Second)
				pid := hs.lastPid("p")
				hs.s.Exited(pid, c.status)
				synctest.Wait()
				var exited *Event
				for _, e := range hs.drain() {
					if e.To == Exited {
						exited = &e
					}
				}
				if exited == nil || exited.Expected != c.expected || exited.Pid != pid || exited.From != Running {
					t.Fatalf("EXITED event %+v", exited)
				}
				if !hs.log.has(c.log) {
					t.Fatalf("missing %q in %q", c.log, hs.log.lines)
				}
				spawns := hs.spawnTimes("p")
				if c.restart != (len(spawns) == 2) {
					t.Fatalf("restart %v, spawns %v", c.restart, spawns)
				}
				if c.restart {
					if spawns[1] != 5*time.Second {
						t.Fatalf("restart at %v, want immediately", spawns[1])
					}
					hs.wantState("p", Starting)
					return
				}
				in := hs.info("p")
				wantErr := ""
				if !c.expected {
					wantErr = "Bad exit code " + itoa(exitStatusOf(c.status))
				}
				if in.State != Exited || in.SpawnErr != wantErr || in.ExitStatus != exitStatusOf(c.status) || in.Stop != hs.t0.Add(5*time.Second).Unix() {
					t.Fatalf("info %+v", in)
				}
			})
		})
	}
}

func exitStatusOf(ws syscall.WaitStatus) int {
	es, _ := decodeStatus(ws)
	return es
}

// Deliberate fix of supervisord #1285: startsecs=0 crash loops back off
// linearly and the delay resets after a run of at least 1 s.
func TestCrashLoopDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("c", startsecs(0), restart(config.AutorestartTrue))), nil)
		for _, at := range secs(0, 1, 3, 6) {
			hs.sleepUntil(at)
			hs.wantState("c", Running)
			hs.exit(hs.lastPid("c"), 1)
		}
		hs.sleepUntil(10 * time.Second)
		if got := hs.spawnTimes("c"); !slices.Equal(got, secs(0, 1, 3, 6, 10)) {
			t.Fatalf("spawns %v", got)
		}
		// A run of 1 s resets the delay: the next restart is immediate.
		hs.sleepUntil(11 * time.Second)
		hs.exit(hs.lastPid("c"), 1)
		if got := hs.spawnTimes("c"); got[len(got)-1] != 11*time.Second {
			t.Fatalf("spawns %v", got)
		}
		// A stop during the delay cancels the restart.
		hs.exit(hs.lastPid("c"), 1)
		hs.wantState("c", Exited)
		if err := hs.s.StopProcess(context.Background(), "c", false); err != nil {
			t.Fatal(err)
		}
		hs.wantState("c", Stopped)
		hs.sleepUntil(time.Minute)
		if n := len(hs.spawnTimes("c")); n != 6 {
			t.Fatalf("%d spawns after stop", n)
		}
		if !hs.log.has("INFO delaying restart of c by 1s: it ran for less than 1 second") {
			t.Fatal(hs.log.lines)
		}
	})
}

// stopsignal, SIGKILL after stopwaitsecs, SIGKILL again every stopwaitsecs,
// with the group flags.
func TestStopEscalation(t *testing.T) {
	for _, c := range []struct{ stopAsGroup, killAsGroup bool }{{false, false}, {true, true}, {true, false}} {
		t.Run("", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				hs := newHarness(t, cfgOf(single("s", stopwait(5*time.Second), func(p *config.Process) {
					p.StopSignal = syscall.SIGQUIT
					p.StopAsGroup, p.KillAsGroup = c.stopAsGroup, c.killAsGroup
				})), nil)
				hs.sleepUntil(2 * time.Second)
				pid := hs.lastPid("s")
				if err := hs.s.StopProcess(context.Background(), "s", false); err != nil {
					t.Fatal(err)
				}
				hs.wantState("s", Stopping)
				hs.sleepUntil(13 * time.Second)
				want := []sigCall{
					{pid, syscall.SIGQUIT, c.stopAsGroup, hs.t0.Add(2 * time.Second)},
					{pid, syscall.SIGKILL, c.killAsGroup, hs.t0.Add(7 * time.Second)},
					{pid, syscall.SIGKILL, c.killAsGroup, hs.t0.Add(12 * time.Second)},
				}
				if got := hs.h.signalList(); !slices.Equal(got, want) {
					t.Fatalf("signals %+v\nwant %+v", got, want)
				}
				hs.wantState("s", Stopping)
				hs.killed(pid, syscall.SIGKILL)
				hs.wantState("s", Stopped)
				if !hs.log.has("WARN killing 's' ("+itoa(pid)+") with SIGKILL") || !hs.log.has("WARN stopped: s (terminated by SIGKILL)") {
					t.Fatal(hs.log.lines)
				}
				if got := hs.transitions("s"); !slices.Equal(got, []string{"STOPPED>STARTING", "STARTING>RUNNING", "RUNNING>STOPPING", "STOPPING>STOPPED"}) {
					t.Fatal(got)
				}
				hs.sleepUntil(time.Minute)
				if n := len(hs.h.signalList()); n != 3 {
					t.Fatalf("signals after stop: %d", n)
				}
			})
		})
	}
}

// The "waiting for x to stop" report runs only while something stops.
func TestStopReport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("s", stopwait(time.Hour))), nil)
		hs.sleepUntil(2 * time.Second)
		_ = hs.s.StopProcess(context.Background(), "s", false)
		hs.sleepUntil(7 * time.Second)
		if n := hs.log.count("INFO waiting for s to stop"); n != 2 {
			t.Fatalf("%d reports in 5 s", n)
		}
		hs.exit(hs.lastPid("s"), 0)
		if !hs.log.has("INFO stopped: s (exit status 0)") {
			t.Fatal(hs.log.lines)
		}
		hs.sleepUntil(time.Minute)
		if n := hs.log.count("INFO waiting for s to stop"); n != 2 {
			t.Fatalf("%d reports after the stop", n)
		}
		var timers int
		hs.inspect(func(c *core) { timers = len(c.timers) })
		if timers != 0 {
			t.Fatalf("%d timers armed on an idle daemon", timers)
		}
	})
}

// inspect runs f on the owner goroutine.
func (hs *harness) inspect(f func(c *core)) {
	_, err := call(hs.s, context.Background(), func(c *core, _ *waiter, reply chan<- res[struct{}]) {
		f(c)
		reply <- res[struct{}]{}
	})
	if err != nil {
		hs.t.Fatal(err)
	}
}

// A stop that arrives while the spawn is in flight is delivered once the
// pid is known.
func TestStopDuringInflightSpawn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		hs := newHarness(t, cfgOf(single("f")), func(h *fakeHost) { h.gate["f"] = gate })
		hs.wantState("f", Starting)
		stopped := async(func() error { return hs.s.StopProcess(context.Background(), "f", true) })
		synctest.Wait()
		hs.wantState("f", Stopping)
		if n := len(hs.h.signalList()); n != 0 {
			t.Fatalf("signalled before the pid was known: %d", n)
		}
		close(gate)
		synctest.Wait()
		pid := hs.lastPid("f")
		if got := hs.h.signalList(); len(got) != 1 || got[0].pid != pid || got[0].sig != syscall.SIGTERM {
			t.Fatalf("signals %+v", got)
		}
		if _, ok := ready(t, stopped); ok {
			t.Fatal("stop with wait replied before the exit")
		}
		hs.killed(pid, syscall.SIGTERM)
		if err, ok := ready(t, stopped); !ok || err != nil {
			t.Fatalf("stop: %v %v", err, ok)
		}
		hs.wantState("f", Stopped)
	})
}

// A stop in flight whose spawn then fails ends STOPPED, not BACKOFF.
func TestStopDuringInflightSpawnThatFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		hs := newHarness(t, cfgOf(single("f")), func(h *fakeHost) {
			h.gate["f"] = gate
			h.spawnErr["f"] = errors.New("boom")
		})
		_ = hs.s.StopProcess(context.Background(), "f", false)
		close(gate)
		synctest.Wait()
		hs.wantState("f", Stopped)
		hs.sleepUntil(time.Minute)
		if n := len(hs.spawnTimes("f")); n != 1 {
			t.Fatalf("%d spawns", n)
		}
	})
}

// The reaper may report an exit before the spawn result: it is parked and
// matched.
func TestExitBeforeSpawnResult(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		hs := newHarness(t, cfgOf(single("q", retries(0))), func(h *fakeHost) { h.gate["q"] = gate })
		hs.exit(101, 3) // the fake host hands out 101 next
		hs.wantState("q", Starting)
		close(gate)
		synctest.Wait()
		if hs.lastPid("q") != 101 {
			t.Fatal("unexpected pid")
		}
		hs.wantState("q", Fatal)
		if got := hs.transitions("q"); !slices.Equal(got, []string{"STOPPED>STARTING", "STARTING>BACKOFF", "BACKOFF>FATAL"}) {
			t.Fatal(got)
		}
		// The same path releases what the spawn made, once.
		if n := hs.h.releasedOf(101); n != 1 {
			t.Fatalf("child released %d times", n)
		}
		for _, l := range hs.log.lines {
			if len(l) > 20 && l[:19] == "INFO reaped unknown" {
				t.Fatalf("parked exit logged as unknown: %q", l)
			}
		}
	})
}

// Exits of pids drover never spawned are logged and dropped; the failed
// shim of a spawn error is ignored.
func TestOrphanAndFailedShimExits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("ok"), single("bad")), func(h *fakeHost) {
			h.spawnErr["bad"] = errors.New("couldn't exec")
			h.errPid = true
		})
		hs.exit(4242, 0)
		if !hs.log.has("INFO reaped unknown pid 4242 (exit status 0)") {
			t.Fatal(hs.log.lines)
		}
		var shim int
		hs.inspect(func(c *core) {
			for pid := range c.ignore {
				shim = pid
			}
		})
		if shim == 0 {
			t.Fatal("failed spawn's pid not remembered")
		}
		hs.exit(shim, 127)
		if hs.log.has("INFO reaped unknown pid " + itoa(shim) + " (exit status 127)") {
			t.Fatal("shim exit reported as unknown")
		}
		hs.wantState("ok", Starting)
		hs.wantState("bad", Backoff)
	})
}

// A kill failure other than ESRCH makes the process UNKNOWN; ESRCH is
// ignored.
func TestKillFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("a"), single("b")), nil)
		hs.sleepUntil(2 * time.Second)
		pa, pb := hs.lastPid("a"), hs.lastPid("b")
		hs.h.mu.Lock()
		hs.h.sigErr[pa] = syscall.EPERM
		hs.h.sigErr[pb] = syscall.ESRCH
		hs.h.mu.Unlock()
		err := hs.s.StopProcess(context.Background(), "a", false)
		wantCode(t, err, CodeFailed)
		hs.wantState("a", Unknown)
		if err := hs.s.StopProcess(context.Background(), "b", false); err != nil {
			t.Fatal(err)
		}
		hs.wantState("b", Stopping)
		hs.exit(pb, 0)
		hs.wantState("b", Stopped)
		wantCode(t, hs.s.StartProcess(context.Background(), "a", false), CodeFailed)
		if !hs.log.has("ERROR+4 unknown problem killing a (" + itoa(pa) + "):operation not permitted") {
			t.Fatal(hs.log.lines)
		}
	})
}

// BACKOFF->STOPPED at once on a stop request; no further retries.
func TestStopInBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("b")), nil)
		hs.exit(hs.lastPid("b"), 1)
		hs.wantState("b", Backoff)
		if err := hs.s.StopProcess(context.Background(), "b", true); err != nil {
			t.Fatal(err)
		}
		hs.wantState("b", Stopped)
		var ev Event
		for _, e := range hs.drain() {
			if e.To == Stopped {
				ev = e
			}
		}
		if ev.From != Backoff || ev.Pid != 0 {
			t.Fatalf("event %+v", ev)
		}
		hs.sleepUntil(time.Minute)
		if n := len(hs.spawnTimes("b")); n != 1 {
			t.Fatalf("%d spawns", n)
		}
	})
}

func itoa(n int) string {
	return formatInt(n)
}

// stopwaitsecs=0: SIGKILL follows at once and repeats at most every second.
func TestStopWaitZero(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("z", stopwait(0))), nil)
		hs.sleepUntil(2 * time.Second)
		_ = hs.s.StopProcess(context.Background(), "z", false)
		hs.sleepUntil(4*time.Second + time.Second/2)
		var got []string
		for _, sg := range hs.h.signalList() {
			got = append(got, signame(sg.sig)+"@"+hs.since(sg.at).String())
		}
		if want := []string{"SIGTERM@2s", "SIGKILL@2s", "SIGKILL@3s", "SIGKILL@4s"}; !slices.Equal(got, want) {
			t.Fatalf("signals %v, want %v", got, want)
		}
		hs.killed(hs.lastPid("z"), syscall.SIGKILL)
		hs.wantState("z", Stopped)
	})
}

// An orphan's exit parked before a spawn began is not matched to that
// spawn even if the pid is reused.
func TestParkedExitBeforeSpawnNotMatched(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		hs := newHarness(t, cfgOf(single("a"), single("b", manual)), func(h *fakeHost) { h.gate["a"] = gate })
		hs.exit(101, 9) // parked: a's spawn is in flight
		if err := hs.s.StartProcess(context.Background(), "b", false); err != nil {
			t.Fatal(err)
		}
		if hs.lastPid("b") != 101 {
			t.Fatal("b should reuse pid 101")
		}
		hs.wantState("b", Starting) // not "exited too quickly"
		close(gate)
		synctest.Wait()
		hs.wantState("a", Starting)
		if !hs.log.has("INFO reaped unknown pid 101 (exit status 9)") {
			t.Fatal(hs.log.lines)
		}
	})
}
