package supervisor

import (
	"slices"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

func (h *fakeHost) refusalList() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.refusals)
}

func wantRefusals(t *testing.T, hs *harness, want ...string) {
	t.Helper()
	if got := hs.h.refusalList(); !slices.Equal(got, want) {
		t.Fatalf("at %v: sockets %q, want %q", hs.since(time.Now()), got, want)
	}
}

// TestSocketsRefuseWhenStopped: a program that stays STOPPED has its
// sockets refuse connections once refuseGrace passed; a start reopens them
// before the spawn.
func TestSocketsRefuseWhenStopped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("web", sockets("tcp://127.0.0.1:8080"))), nil)
		hs.sleepUntil(time.Second)
		hs.wantState("web", Running)
		stopped := async(func() error { return hs.s.StopProcess(bg, "web", true) })
		synctest.Wait()
		hs.exit(hs.lastPid("web"), 0)
		if err, ok := ready(t, stopped); !ok || err != nil {
			t.Fatalf("stop: %v %v", err, ok)
		}
		wantRefusals(t, hs) // not yet: a start may follow (supervisorctl restart)
		time.Sleep(refuseGrace - time.Millisecond)
		synctest.Wait()
		wantRefusals(t, hs)
		time.Sleep(time.Millisecond)
		synctest.Wait()
		wantRefusals(t, hs, "refuse web")
		if err := hs.s.StartProcess(bg, "web", true); err != nil {
			t.Fatal(err)
		}
		wantRefusals(t, hs, "refuse web", "reopen web")
		hs.wantState("web", Running)
	})
}

// TestSocketsKeptAcrossRestart: supervisorctl's restart (stop, then start,
// two calls) and the restart reload strategy never refuse: connections
// queued meanwhile are served by the new process.
func TestSocketsKeptAcrossRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("web", sockets("tcp://127.0.0.1:8080"), reloadBy(config.ReloadRestart, 0))), nil)
		hs.sleepUntil(time.Second)
		stopped := async(func() error { return hs.s.StopProcess(bg, "web", true) })
		synctest.Wait()
		hs.exit(hs.lastPid("web"), 0)
		if err, ok := ready(t, stopped); !ok || err != nil {
			t.Fatalf("stop: %v %v", err, ok)
		}
		time.Sleep(refuseGrace / 2)
		if err := hs.s.StartProcess(bg, "web", true); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * refuseGrace)
		synctest.Wait()
		hs.wantState("web", Running)
		wantRefusals(t, hs)

		reloaded := async(func() error { return hs.s.ReloadProcess(bg, "web") })
		synctest.Wait()
		hs.exit(hs.lastPid("web"), 0)
		time.Sleep(time.Second) // startsecs of the new process
		synctest.Wait()
		if err, ok := ready(t, reloaded); !ok || err != nil {
			t.Fatalf("reload: %v %v", err, ok)
		}
		time.Sleep(2 * refuseGrace)
		synctest.Wait()
		hs.wantState("web", Running)
		wantRefusals(t, hs)
	})
}

// TestSocketsRefuseWhenFatal: a program that gave up (FATAL) refuses at
// once; the respawns before it (BACKOFF, STARTING) kept the sockets
// queuing. A crash while RUNNING is respawned without a refusal.
func TestSocketsRefuseWhenFatal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("web", sockets("tcp://127.0.0.1:8080"), retries(1))), nil)
		hs.sleepUntil(time.Second)
		hs.wantState("web", Running)
		hs.exit(hs.lastPid("web"), 1) // crash: autorestart unexpected respawns it
		time.Sleep(5 * time.Second)
		synctest.Wait()
		hs.wantState("web", Running)
		wantRefusals(t, hs)

		hs.killed(hs.lastPid("web"), syscall.SIGKILL)
		for range 10 {
			if hs.state("web") == Fatal {
				break
			}
			if st := hs.state("web"); st == Starting {
				wantRefusals(t, hs)
				hs.exit(hs.lastPid("web"), 1) // dies before startsecs
			}
			time.Sleep(time.Second)
			synctest.Wait()
		}
		hs.wantState("web", Fatal)
		wantRefusals(t, hs, "refuse web")
		if err := hs.s.StartProcess(bg, "web", false); err != nil {
			t.Fatal(err)
		}
		wantRefusals(t, hs, "refuse web", "reopen web")
	})
}

// TestSocketsRefuseWhenExited: a program that exited and will not be
// restarted (autorestart=false) refuses after refuseGrace; one whose
// restart is delayed after short runs (1 s, 2 s, 3 s...) keeps queuing.
func TestSocketsRefuseWhenExited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("web", sockets("tcp://127.0.0.1:8080"), restart(config.AutorestartTrue), startsecs(0)),
			single("once", sockets("tcp://127.0.0.1:8081"), restart(config.AutorestartFalse), startsecs(0))), nil)
		synctest.Wait()
		hs.exit(hs.lastPid("once"), 0)
		hs.wantState("once", Exited)
		for k := 1; k <= 4; k++ { // runs shorter than 1 s: restarts after 1, 2, 3, 4 s
			hs.exit(hs.lastPid("web"), 0)
			hs.wantState("web", Exited)
			time.Sleep(time.Duration(k) * time.Second)
			synctest.Wait()
			hs.wantState("web", Running)
		}
		wantRefusals(t, hs, "refuse once")
	})
}

// TestSocketsKeptAcrossDaemonRestart: while the daemon restarts (or shuts
// down) a program that already stopped keeps its sockets queuing, however
// long the others take to stop: the next supervisor starts it on them.
func TestSocketsKeptAcrossDaemonRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("web", sockets("tcp://127.0.0.1:8080"), prio(1)),
			single("slow", prio(2), stopwait(10*time.Second))), nil)
		hs.sleepUntil(time.Second)
		restarted := async(func() error { return hs.s.Restart(bg) })
		synctest.Wait()
		hs.exit(hs.lastPid("web"), 0)
		hs.wantState("web", Stopped)
		time.Sleep(5 * refuseGrace) // slow ignores its stop signal
		synctest.Wait()
		wantRefusals(t, hs)
		hs.killed(hs.lastPid("slow"), syscall.SIGKILL)
		if err, ok := ready(t, restarted); !ok || err != nil {
			t.Fatalf("restart: %v %v", err, ok)
		}
		wantRefusals(t, hs)
	})
}
