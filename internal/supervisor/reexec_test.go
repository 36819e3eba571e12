package supervisor

import (
	"slices"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

// A re-exec'd master is adopted: same process, same generation, new pid,
// still RUNNING, no respawn; a second re-exec (same process group) too; the
// successor's own exit later takes the normal path.
func TestReexecAdoptsSuccessor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("web", startsecs(0), reloadBy(config.ReloadReexec, 0))), nil)
		hs.wantState("web", Running)
		hs.sleepUntil(10 * time.Second) // runs long enough: no crash-loop delay later
		first := hs.lastPid("web")
		gen := hs.info("web").Generation
		hs.h.setSucc(first, 500)
		hs.exit(first, 0)
		in := hs.info("web")
		if in.State != Running || in.Pid != 500 || in.Generation != gen || in.Reexecs != 1 || in.PrevPid != first {
			t.Fatalf("after the re-exec: %+v", in)
		}
		if !hs.log.has("INFO following re-exec of 'web': pid " + itoa(first) + " → 500") {
			t.Fatalf("log %q", hs.log.lines)
		}
		// The pid became known after STARTING, then changed with no state
		// change: observers (the daemon's state file) hear both.
		hs.evmu.Lock()
		var pidEvents []int
		for _, e := range hs.events {
			if e.Kind == EventPidChanged && e.Name == "web" {
				pidEvents = append(pidEvents, e.Pid)
			}
		}
		hs.evmu.Unlock()
		if !slices.Equal(pidEvents, []int{first, 500}) {
			t.Fatalf("EventPidChanged pids %v, want [%d 500] (the spawn, then the re-exec)", pidEvents, first)
		}
		// The second master keeps the first one's process group.
		hs.h.setSucc(first, 600)
		hs.exit(500, 0)
		if in := hs.info("web"); in.Pid != 600 || in.Reexecs != 2 || in.State != Running {
			t.Fatalf("after the second re-exec: %+v", in)
		}
		if got := hs.h.lookupList(); !slices.Equal(got, []lookupCall{{first, ""}, {first, ""}}) {
			t.Fatalf("lookups %v", got)
		}
		if n := len(hs.spawnTimes("web")); n != 1 {
			t.Fatalf("%d spawns while successors lived", n)
		}
		if got := hs.transitions("web"); !slices.Equal(got, []string{"STOPPED>STARTING", "STARTING>RUNNING"}) {
			t.Fatalf("transitions %v", got)
		}
		// Now the master dies with no successor: the normal rules apply.
		hs.killed(600, syscall.SIGKILL)
		if !hs.log.has("WARN exited: web (terminated by SIGKILL; not expected)") {
			t.Fatalf("log %q", hs.log.lines)
		}
		if n := len(hs.spawnTimes("web")); n != 2 {
			t.Fatalf("%d spawns, want the autorestart", n)
		}
		// A stop with stopasgroup goes to the first pid's group.
		second := hs.lastPid("web")
		hs.h.setSucc(second, 700)
		hs.exit(second, 0)
		hs.inspect(func(c *core) { c.groups["web"].procs[0].cfg.StopAsGroup = true })
		if err := hs.s.StopProcess(bg, "web", false); err != nil {
			t.Fatal(err)
		}
		sigs := hs.h.signalList()
		if last := sigs[len(sigs)-1]; last != (sigCall{second, syscall.SIGTERM, true, last.at}) {
			t.Fatalf("stop sent %+v, want TERM to group %d", last, second)
		}
		hs.killed(700, syscall.SIGTERM)
		hs.wantState("web", Stopped)
	})
}

// Without a successor the exit is an exit; a program not configured for
// re-exec never looks for one.
func TestReexecNoSuccessorIsAnExit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("web", startsecs(0), reloadBy(config.ReloadReexec, 0)), single("plain", startsecs(0))), nil)
		hs.sleepUntil(10 * time.Second)
		web, plain := hs.lastPid("web"), hs.lastPid("plain")
		hs.h.setSucc(plain, 900) // an orphan in plain's group: never adopted
		hs.exit(web, 1)
		hs.exit(plain, 1)
		if len(hs.h.lookupList()) != 1 {
			t.Fatalf("lookups %v, want one for web only", hs.h.lookupList())
		}
		for _, n := range []string{"web", "plain"} {
			if !hs.log.has("WARN exited: " + n + " (exit status 1; not expected)") {
				t.Fatalf("no exit of %s: %q", n, hs.log.lines)
			}
			if got := len(hs.spawnTimes(n)); got != 2 {
				t.Fatalf("%s: %d spawns, want 2 (autorestart)", n, got)
			}
		}
	})
}

// The program's pidfile is passed as the hint.
func TestReexecPassesPidfileHint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("web", startsecs(0), reloadBy(config.ReloadReexec, 0), func(p *config.Process) {
			p.Drover.Pidfile = "/run/web.pid"
		})), nil)
		pid := hs.lastPid("web")
		hs.h.setSucc(pid, 501)
		hs.exit(pid, 0)
		if got := hs.h.lookupList(); !slices.Equal(got, []lookupCall{{pid, "/run/web.pid"}}) {
			t.Fatalf("lookups %v", got)
		}
		hs.wantState("web", Running)
	})
}

// supervisorctl signal USR2 web follows the re-exec when USR2 is the
// program's reload signal, whatever its strategy.
func TestSignalWithReloadSignalFollows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("web", startsecs(0), reloadBy(config.ReloadSignal, syscall.SIGUSR2))), nil)
		pid := hs.lastPid("web")
		hs.h.setSucc(pid, 502)
		if err := hs.s.SignalProcess(bg, "web", syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		if err := hs.s.SignalProcess(bg, "web", syscall.SIGUSR2); err != nil {
			t.Fatal(err)
		}
		hs.exit(pid, 0)
		if in := hs.info("web"); in.Pid != 502 || in.State != Running {
			t.Fatalf("%+v", in)
		}
		// The mark stays with the generation: the adopted pid's exit looks too.
		hs.exit(502, 0)
		if n := len(hs.h.lookupList()); n != 2 {
			t.Fatalf("%d lookups", n)
		}
		hs.wantState("web", Exited)
	})
}

// A stop that arrives while the successor is looked for is delivered to
// the successor; meanwhile other requests say the process is between pids.
func TestStopDuringLookupGoesToSuccessor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		hs := newHarness(t, cfgOf(single("web", startsecs(0), reloadBy(config.ReloadReexec, 0))), func(h *fakeHost) { h.succGate = gate })
		pid := hs.lastPid("web")
		hs.h.setSucc(pid, 503)
		hs.exit(pid, 0)
		hs.wantState("web", Running)
		wantCode(t, hs.s.SignalProcess(bg, "web", syscall.SIGHUP), CodeFailed)
		if err := hs.s.StopProcess(bg, "web", false); err != nil {
			t.Fatal(err)
		}
		hs.wantState("web", Stopping)
		close(gate)
		synctest.Wait()
		sigs := hs.h.signalList()
		if last := sigs[len(sigs)-1]; last.pid != 503 || last.sig != syscall.SIGTERM {
			t.Fatalf("signals %+v", sigs)
		}
		hs.killed(503, syscall.SIGTERM)
		hs.wantState("web", Stopped)
		if n := len(hs.spawnTimes("web")); n != 1 {
			t.Fatalf("%d spawns", n)
		}
	})
}

// A successor that dies before the lookup result comes back is not lost:
// its parked exit is routed to the process.
func TestSuccessorDiesDuringLookup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		hs := newHarness(t, cfgOf(single("web", startsecs(0), reloadBy(config.ReloadReexec, 0), restart(config.AutorestartFalse))),
			func(h *fakeHost) { h.succGate = gate })
		pid := hs.lastPid("web")
		hs.h.setSucc(pid, 504)
		hs.exit(pid, 0)
		hs.exit(504, 3) // reaped after the scan saw it alive
		close(gate)
		synctest.Wait()
		if !hs.log.has("INFO following re-exec of 'web': pid "+itoa(pid)+" → 504") ||
			!hs.log.has("WARN exited: web (exit status 3; not expected)") {
			t.Fatalf("log %q", hs.log.lines)
		}
		hs.wantState("web", Exited)
		if hs.log.count("INFO reaped unknown pid 504 (exit status 3)") != 0 {
			t.Fatal("the successor's exit was dropped as unknown")
		}
	})
}

// A master killed by a signal crashed: its orphaned workers are not
// followed, the exit takes the normal path at once. During a stop the
// lookup runs whatever the status, so a successor gets the stop too.
func TestReexecCrashIsNotFollowed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("web", startsecs(0), reloadBy(config.ReloadReexec, 0))), nil)
		hs.sleepUntil(10 * time.Second)
		pid := hs.lastPid("web")
		hs.h.setSucc(pid, 510) // an orphaned worker
		hs.killed(pid, syscall.SIGSEGV)
		if n := len(hs.h.lookupList()); n != 0 {
			t.Fatalf("%d lookups after a crash", n)
		}
		if !hs.log.has("WARN exited: web (terminated by SIGSEGV; not expected)") {
			t.Fatalf("log %q", hs.log.lines)
		}
		next := hs.lastPid("web")
		if next == pid {
			t.Fatal("no autorestart")
		}
		hs.h.setSucc(next, 520)
		if err := hs.s.StopProcess(bg, "web", false); err != nil {
			t.Fatal(err)
		}
		hs.killed(next, syscall.SIGTERM)
		hs.wantState("web", Stopping)
		sigs := hs.h.signalList()
		if last := sigs[len(sigs)-1]; last.pid != 520 || last.sig != syscall.SIGTERM {
			t.Fatalf("signals %+v", sigs)
		}
		hs.killed(520, syscall.SIGTERM)
		hs.wantState("web", Stopped)
	})
}
