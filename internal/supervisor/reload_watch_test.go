package supervisor

import (
	"slices"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

// reexec: the new master (a child of the old one that was not there
// before the signal) is shown as HandoffPid while the reload is pending;
// its exit before it took over fails the reload at once, with the status
// seen, and the old master keeps serving.
func TestReloadReexecNewMasterDies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("web", startsecs(0), reloadBy(config.ReloadReexec, 0))), nil)
		pid := hs.lastPid("web")
		hs.h.children[pid] = []int{pid + 1, pid + 2} // its workers
		hs.h.newChild[pid] = 900
		t0 := time.Now()
		done := async(func() error { return hs.s.ReloadProcess(bg, "web") })
		synctest.Wait()
		if in := hs.info("web"); in.HandoffPid != 900 || in.Pid != pid || in.Reloading != config.ReloadReexec {
			t.Fatalf("info while pending: %+v", in)
		}
		if got := hs.h.watched(); !slices.Equal(got, []int{900}) {
			t.Fatalf("watched %v", got)
		}
		if _, ok := ready(t, done); ok {
			t.Fatal("replied while the new master lives")
		}
		time.Sleep(300 * time.Millisecond) // it boots, then crashes
		hs.h.watchedExit(900, 1<<8)
		err, ok := ready(t, done)
		if !ok {
			t.Fatal("no reply after the new master's exit")
		}
		wantDetail(t, err, CodeFailed, "the new master pid 900 exited before taking over (exit status 1); the old master pid "+itoa(pid)+" keeps serving")
		if d := time.Since(t0); d != 300*time.Millisecond {
			t.Fatalf("failed after %v", d)
		}
		if in := hs.info("web"); in.Pid != pid || in.State != Running || in.HandoffPid != 0 || in.Reloading != "" {
			t.Fatalf("after: %+v", in)
		}
		if n := len(hs.spawnTimes("web")); n != 1 {
			t.Fatalf("%d spawns", n)
		}
		// An exit whose status the old master took is reported as such.
		done = async(func() error { return hs.s.ReloadProcess(bg, "web") })
		synctest.Wait()
		hs.h.watchedExit(900, StatusUnknown)
		err, _ = ready(t, done)
		wantDetail(t, err, CodeFailed, "its exit status went to the old master")
	})
}

// reexec: a found child that exits 0 before taking over was a short-lived
// child of the old master (Go's runtime forks one to probe clone with a
// pidfd), not a new master that failed: the search goes on and finds the
// real one. Only successorResearches times: then an exit 0 fails too.
func TestReloadReexecShortLivedChildIsNotTheNewMaster(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("web", startsecs(0), reloadBy(config.ReloadReexec, 0))), nil)
		pid := hs.lastPid("web")
		hs.h.newChild[pid] = 900
		done := async(func() error { return hs.s.ReloadProcess(bg, "web") })
		synctest.Wait()
		hs.h.mu.Lock()
		hs.h.newChild[pid] = 901 // forked meanwhile
		hs.h.mu.Unlock()
		if !hs.h.watchedExit(900, 0) {
			t.Fatal("900 was not watched")
		}
		if in := hs.info("web"); in.HandoffPid != 901 || in.Pid != pid || in.Reloading != config.ReloadReexec {
			t.Fatalf("info after the short-lived child's exit: %+v", in)
		}
		if _, ok := ready(t, done); ok {
			t.Fatal("replied after the short-lived child's exit")
		}
		// Every exit 0 so far looked again; after successorResearches
		// of them the next one fails the reload as any other exit.
		for i := 1; i < successorResearches; i++ {
			hs.h.watchedExit(901, 0)
		}
		if in := hs.info("web"); in.HandoffPid != 901 {
			t.Fatalf("after %d exits 0: %+v", successorResearches, in)
		}
		hs.h.watchedExit(901, 0)
		err, ok := ready(t, done)
		if !ok {
			t.Fatal("no reply after the last exit 0")
		}
		wantDetail(t, err, CodeFailed, "the new master pid 901 exited before taking over (exit status 0)")
		if in := hs.info("web"); in.Pid != pid || in.State != Running || in.HandoffPid != 0 {
			t.Fatalf("after: %+v", in)
		}
	})
}

// reexec: a new master that lives but never takes over is killed with its
// workers at ready_timeout; the old master serves on, and nothing takes
// over later.
func TestReloadReexecNewMasterNeverTakesOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("web", startsecs(0), reloadBy(config.ReloadReexec, 0), readyProbe("", 5*time.Second))), nil)
		pid := hs.lastPid("web")
		hs.h.newChild[pid] = 900
		t0 := time.Now()
		err := hs.s.ReloadProcess(bg, "web")
		wantDetail(t, err, CodeFailed, "the new master pid 900 did not take over within 5s (killed it and its workers); the old master pid "+itoa(pid)+" keeps serving")
		if d := time.Since(t0); d != 5*time.Second {
			t.Fatalf("failed after %v", d)
		}
		if !slices.Equal(hs.h.killTree, []int{900}) {
			t.Fatalf("KillTree %v", hs.h.killTree)
		}
		if got := hs.h.watched(); len(got) != 0 {
			t.Fatalf("watches left: %v", got)
		}
		if in := hs.info("web"); in.Pid != pid || in.State != Running || in.HandoffPid != 0 {
			t.Fatalf("after: %+v", in)
		}
		// Its exit, reported late, changes nothing.
		hs.h.watchedExit(900, syscall.WaitStatus(syscall.SIGKILL))
		hs.wantState("web", Running)
	})
}

// reexec: once adopted, the new master's watch ends; its exits are
// drover's to reap.
func TestReloadReexecAdoptedStopsWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("web", startsecs(0), reloadBy(config.ReloadReexec, 0))), nil)
		hs.sleepUntil(10 * time.Second)
		pid := hs.lastPid("web")
		hs.h.newChild[pid] = 900
		done := async(func() error { return hs.s.ReloadProcess(bg, "web") })
		synctest.Wait()
		hs.h.setSucc(pid, 900)
		hs.exit(pid, 0)
		if err, ok := ready(t, done); !ok || err != nil {
			t.Fatalf("reload: %v %v", err, ok)
		}
		if got := hs.h.watched(); len(got) != 0 {
			t.Fatalf("watches left: %v", got)
		}
		if in := hs.info("web"); in.Pid != 900 || in.HandoffPid != 0 {
			t.Fatalf("%+v", in)
		}
	})
}

// signal on a pre-fork server: the reload returns only when every worker
// present before the signal exited, then waits for readiness; workers
// never replaced fail it at ready_timeout, naming them.
func TestReloadSignalWaitsForWorkers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("puma", startsecs(0), reloadBy(config.ReloadSignal, syscall.SIGUSR1), readyProbe("", 20*time.Second))), nil)
		pid := hs.lastPid("puma")
		hs.h.children[pid] = []int{501, 502}
		t0 := time.Now()
		done := async(func() error { return hs.s.ReloadProcess(bg, "puma") })
		synctest.Wait()
		if got := hs.h.watched(); !slices.Equal(got, []int{501, 502}) {
			t.Fatalf("watched %v", got)
		}
		time.Sleep(time.Second)
		hs.h.watchedExit(501, StatusUnknown)
		if _, ok := ready(t, done); ok {
			t.Fatal("replied with worker 502 still there")
		}
		time.Sleep(time.Second)
		hs.h.watchedExit(502, StatusUnknown)
		if err, ok := ready(t, done); !ok || err != nil {
			t.Fatalf("reload: %v %v", err, ok)
		}
		if d := time.Since(t0); d != 2*time.Second {
			t.Fatalf("replied after %v", d)
		}
		if !hs.log.has("INFO reload of 'puma': the 2 workers present before the signal were replaced") {
			t.Fatalf("log %q", hs.log.lines)
		}

		hs.h.children[pid] = []int{601, 602, 603}
		done = async(func() error { return hs.s.ReloadProcess(bg, "puma") })
		synctest.Wait()
		hs.h.watchedExit(602, StatusUnknown)
		time.Sleep(20*time.Second - 1)
		if _, ok := ready(t, done); ok {
			t.Fatal("failed early")
		}
		time.Sleep(time.Nanosecond)
		err, ok := ready(t, done)
		if !ok {
			t.Fatal("no timeout")
		}
		wantDetail(t, err, CodeFailed, "2 of the 3 workers present before SIGUSR1 were not replaced within 20s (pids [601 603] still run)")
		if got := hs.h.watched(); len(got) != 0 {
			t.Fatalf("watches left: %v", got)
		}
		if in := hs.info("puma"); in.Pid != pid || in.State != Running || in.Reloading != "" {
			t.Fatalf("%+v", in)
		}
	})
}

// signal: the master's exit during the wait fails the reload.
func TestReloadSignalMasterExitsWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("puma", startsecs(0), reloadBy(config.ReloadSignal, syscall.SIGUSR1))), nil)
		hs.sleepUntil(10 * time.Second)
		pid := hs.lastPid("puma")
		hs.h.children[pid] = []int{501}
		done := async(func() error { return hs.s.ReloadProcess(bg, "puma") })
		synctest.Wait()
		hs.exit(pid, 1)
		err, ok := ready(t, done)
		if !ok {
			t.Fatal("no reply")
		}
		wantDetail(t, err, CodeFailed, "the master exited during the reload (exit status 1)")
	})
}

// signal: a stop during the wait fails the reload and stops the program.
func TestReloadSignalStoppedWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("puma", startsecs(0), reloadBy(config.ReloadSignal, syscall.SIGUSR1))), nil)
		pid := hs.lastPid("puma")
		hs.h.children[pid] = []int{501}
		done := async(func() error { return hs.s.ReloadProcess(bg, "puma") })
		synctest.Wait()
		stopped := async(func() error { return hs.s.StopProcess(bg, "puma", true) })
		synctest.Wait()
		err, ok := ready(t, done)
		if !ok {
			t.Fatal("no reply to the reload")
		}
		wantDetail(t, err, CodeFailed, "the master exited during the reload (now STOPPING)")
		hs.killed(pid, syscall.SIGTERM)
		if err, ok := ready(t, stopped); !ok || err != nil {
			t.Fatalf("stop: %v %v", err, ok)
		}
		if got := hs.h.watched(); len(got) != 0 {
			t.Fatalf("watches left: %v", got)
		}
	})
}
