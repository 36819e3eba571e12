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

var bg = context.Background()

func TestParseName(t *testing.T) {
	for spec, want := range map[string][3]any{
		"web":     {"web", "web", false},
		"g:web":   {"g", "web", false},
		"g:*":     {"g", "", true},
		"g:":      {"g", "", true},
		"g:a:b":   {"g", "a:b", false},
		"":        {"", "", false},
		":":       {"", "", true},
		"g:web:*": {"g", "web:*", false},
	} {
		g, n, isGroup := ParseName(spec)
		if g != want[0] || n != want[1] || isGroup != want[2] {
			t.Errorf("ParseName(%q) = %q %q %v", spec, g, n, isGroup)
		}
	}
}

// startProcess with wait replies when RUNNING, exactly at startsecs.
func TestStartWaitRepliesAtRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("w", manual, startsecs(2*time.Second))), nil)
		done := async(func() error { return hs.s.StartProcess(bg, "w", true) })
		hs.sleepUntil(2*time.Second - 1)
		if _, ok := ready(t, done); ok {
			t.Fatal("replied before RUNNING")
		}
		hs.sleepUntil(2 * time.Second)
		if err, ok := ready(t, done); !ok || err != nil {
			t.Fatalf("%v %v", err, ok)
		}
		wantCode(t, hs.s.StartProcess(bg, "w", true), CodeAlreadyStarted)
	})
}

func TestStartWaitFailures(t *testing.T) {
	cases := map[string]struct {
		prep   func(*fakeHost)
		act    func(hs *harness)
		want   Code
		noWait Code // the outcome without wait (0: success)
	}{
		"spawn error": {
			prep:   func(h *fakeHost) { h.spawnErr["w"] = errors.New("is not executable") },
			act:    func(*harness) {},
			want:   CodeSpawnError,
			noWait: CodeSpawnError,
		},
		"exited too quickly": {
			act:  func(hs *harness) { hs.exit(hs.lastPid("w"), 0) },
			want: CodeSpawnError,
		},
		"stopped while starting": {
			act: func(hs *harness) {
				_ = hs.s.StopProcess(bg, "w", false)
				hs.killed(hs.lastPid("w"), syscall.SIGTERM)
			},
			want: CodeAbnormalTermination,
		},
	}
	for name, c := range cases {
		for _, wait := range []bool{true, false} {
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					hs := newHarness(t, cfgOf(single("w", manual)), c.prep)
					done := async(func() error { return hs.s.StartProcess(bg, "w", wait) })
					synctest.Wait()
					if !wait {
						err, ok := ready(t, done)
						if !ok {
							t.Fatal("start without wait did not reply after the spawn")
						}
						if c.noWait == 0 && err != nil {
							t.Fatal(err)
						}
						if c.noWait != 0 {
							wantCode(t, err, c.noWait)
						}
						return
					}
					c.act(hs)
					err, ok := ready(t, done)
					if !ok {
						t.Fatal("no reply")
					}
					wantCode(t, err, c.want)
					if !errors.Is(err, &Fault{Code: c.want}) {
						t.Fatal("errors.Is does not match by code")
					}
				})
			})
		}
	}
}

// A dropped client cancels its waiter: nothing stays registered.
func TestWaitCancelledByContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("w", manual, startsecs(time.Hour))), nil)
		ctx, cancel := context.WithCancel(bg)
		done := async(func() error { return hs.s.StartProcess(ctx, "w", true) })
		synctest.Wait()
		var n int
		hs.inspect(func(c *core) { n = len(c.waiters) })
		if n != 1 {
			t.Fatalf("%d waiters", n)
		}
		cancel()
		if err, ok := ready(t, done); !ok || !errors.Is(err, context.Canceled) {
			t.Fatalf("%v %v", err, ok)
		}
		hs.inspect(func(c *core) { n = len(c.waiters) })
		if n != 0 {
			t.Fatalf("%d waiters left after cancel", n)
		}
	})
}

func TestRequestErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("a"), grp("g", 1, prog("x"), prog("y", manual))), nil)
		hs.sleepUntil(2 * time.Second)
		_, err := hs.s.ProcessInfo(bg, "nope")
		wantCode(t, err, CodeBadName)
		_, err = hs.s.ProcessInfo(bg, "g:*")
		wantCode(t, err, CodeBadName)
		_, err = hs.s.ProcessInfo(bg, "g:nope")
		wantCode(t, err, CodeBadName)
		if in, err := hs.s.ProcessInfo(bg, "g:x"); err != nil || in.State != Running || in.Group != "g" {
			t.Fatal(in, err)
		}
		wantCode(t, hs.s.StartProcess(bg, "a", false), CodeAlreadyStarted)
		wantCode(t, hs.s.StopProcess(bg, "g:y", false), CodeNotRunning)
		wantCode(t, hs.s.StartProcess(bg, "g:*", false), CodeBadName)
		_, err = hs.s.StartGroup(bg, "nope", false)
		wantCode(t, err, CodeBadName)
		wantCode(t, hs.s.SignalProcess(bg, "a", syscall.Signal(99)), CodeBadSignal)
		wantCode(t, hs.s.RemoveGroup(bg, "g"), CodeStillRunning)
		wantCode(t, hs.s.RemoveGroup(bg, "nope"), CodeBadName)
		wantCode(t, hs.s.AddGroup(bg, single("a")), CodeAlreadyAdded)

		f := &Fault{Code: CodeBadName, Detail: "x"}
		if f.Error() != "BAD_NAME: x" || (&Fault{Code: CodeNotRunning}).Error() != "NOT_RUNNING" || Code(77).String() != "UNKNOWN" {
			t.Fatal("fault strings")
		}
	})
}

// signalProcess: only STARTING, RUNNING and STOPPING are signallable.
func TestSignalStates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := cfgOf(single("run"), single("stopped", manual), single("boff"), single("fatal", retries(0)),
			single("exited", restart(config.AutorestartFalse)), single("stopping", stopwait(time.Hour)))
		hs := newHarness(t, cfg, nil)
		hs.exit(hs.lastPid("boff"), 1)
		hs.exit(hs.lastPid("fatal"), 1)
		hs.sleepUntil(2 * time.Second / 3)
		hs.sleepUntil(2 * time.Second)
		hs.exit(hs.lastPid("exited"), 0)
		_ = hs.s.StopProcess(bg, "stopping", false)
		for name, want := range map[string]State{"run": Running, "stopped": Stopped, "fatal": Fatal, "exited": Exited, "stopping": Stopping} {
			hs.wantState(name, want)
		}
		for _, name := range []string{"stopped", "fatal", "exited"} {
			wantCode(t, hs.s.SignalProcess(bg, name, syscall.SIGHUP), CodeNotRunning)
		}
		hs.h.mu.Lock()
		hs.h.signals = nil
		hs.h.mu.Unlock()
		for _, name := range []string{"run", "stopping"} {
			if err := hs.s.SignalProcess(bg, name, syscall.SIGUSR1); err != nil {
				t.Fatal(name, err)
			}
		}
		got := hs.h.signalList()
		if len(got) != 2 || got[0].pid != hs.lastPid("run") || got[0].sig != syscall.SIGUSR1 || got[0].group {
			t.Fatalf("%+v", got)
		}
		res, err := hs.s.SignalAll(bg, syscall.SIGHUP)
		if err != nil || len(res) != 3 {
			t.Fatalf("SignalAll %v %v", res, err)
		}
		// A BACKOFF process (retry pending) is not signallable either.
		hs.exit(hs.lastPid("boff"), 1) // RUNNING -> EXITED -> STARTING
		hs.exit(hs.lastPid("boff"), 1) // STARTING -> BACKOFF
		hs.wantState("boff", Backoff)
		wantCode(t, hs.s.SignalProcess(bg, "boff", syscall.SIGHUP), CodeNotRunning)
	})
}

// Group start: results per process not running, with the failures.
func TestStartGroupResults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(grp("g", 1, prog("a", manual), prog("b", manual), prog("c"))), func(h *fakeHost) {
			h.spawnErr["b"] = errors.New("no permission")
		})
		got := make(chan []Result, 1)
		go func() {
			r, err := hs.s.StartGroup(bg, "g", true)
			if err != nil {
				t.Error(err)
			}
			got <- r
		}()
		hs.sleepUntil(time.Second)
		r := <-got
		want := []Result{
			{"a", "g", CodeSuccess, "OK"},
			{"b", "g", CodeSpawnError, "SPAWN_ERROR: g:b"},
		}
		if !slices.Equal(r, want) {
			t.Fatalf("%v", r)
		}
	})
}

func TestAddRemoveGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(), nil)
		if err := hs.s.AddGroup(bg, single("n")); err != nil {
			t.Fatal(err)
		}
		hs.wantState("n", Starting)
		hs.sleepUntil(time.Second)
		if err := hs.s.StopProcess(bg, "n", false); err != nil {
			t.Fatal(err)
		}
		wantCode(t, hs.s.RemoveGroup(bg, "n"), CodeStillRunning)
		hs.killed(hs.lastPid("n"), syscall.SIGTERM)
		if err := hs.s.RemoveGroup(bg, "n"); err != nil {
			t.Fatal(err)
		}
		var kinds []EventKind
		for _, e := range hs.drain() {
			if e.Kind == EventGroupAdded || e.Kind == EventGroupRemoved {
				kinds = append(kinds, e.Kind)
			}
		}
		if !slices.Equal(kinds, []EventKind{EventGroupAdded, EventGroupRemoved}) {
			t.Fatal(kinds)
		}
		all, _ := hs.s.AllProcessInfo(bg)
		if len(all) != 0 {
			t.Fatal(all)
		}
	})
}

// AllProcessInfo is sorted by group, then name.
func TestAllProcessInfoSorted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(grp("b", 1, prog("z"), prog("a", prio(1000))), grp("a", 50, prog("y"))), nil)
		all, err := hs.s.AllProcessInfo(bg)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, in := range all {
			got = append(got, in.Group+":"+in.Name)
		}
		if !slices.Equal(got, []string{"a:y", "b:a", "b:z"}) {
			t.Fatal(got)
		}
	})
}
