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

func startOrder(hs *harness) []string {
	var out []string
	for _, e := range hs.drain() {
		if e.Kind == EventProcessState && e.To == Starting {
			out = append(out, e.Name)
		}
	}
	return out
}

// Autostart and start all go in ascending (group priority, name), then
// (process priority, name) order.
func TestStartOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := cfgOf(
			grp("g1", 10, prog("b", prio(1)), prog("a", prio(1)), prog("c", prio(0))),
			grp("g2", 5, prog("z")),
			grp("aa", 10, prog("y")),
			grp("m", 1, prog("manual", manual)),
		)
		hs := newHarness(t, cfg, nil)
		if got, want := startOrder(hs), []string{"z", "y", "c", "a", "b"}; !slices.Equal(got, want) {
			t.Fatalf("autostart order %v, want %v", got, want)
		}
		hs.sleepUntil(2 * time.Second)
		hs.stopAll()
		res, err := hs.s.StartAll(context.Background(), false)
		if err != nil || len(res) != 6 {
			t.Fatalf("StartAll: %v %v", res, err)
		}
		if got, want := startOrder(hs), []string{"z", "y", "c", "a", "b", "manual", "z", "y", "c", "a", "b"}; !slices.Equal(got, want) {
			t.Fatalf("start all order %v, want %v", got, want)
		}
	})
}

// stopAll runs StopAll(wait) and reaps every process it signals.
func (hs *harness) stopAll() {
	hs.t.Helper()
	done := async(func() error { _, err := hs.s.StopAll(context.Background(), true); return err })
	reaped := map[int]bool{}
	for {
		if err, ok := ready(hs.t, done); ok {
			if err != nil {
				hs.t.Fatal(err)
			}
			return
		}
		n := 0
		for _, sg := range hs.h.signalList() {
			if !reaped[sg.pid] {
				reaped[sg.pid] = true
				n++
				hs.killed(sg.pid, syscall.SIGTERM)
			}
		}
		if n == 0 {
			hs.t.Fatal("StopAll waits but nothing was signalled")
		}
	}
}

type stopRec struct {
	name string
	at   time.Duration
}

// stopsByName maps signal calls to process names.
func (hs *harness) stops() []stopRec {
	names := map[int]string{}
	for _, sp := range hs.h.spawnList() {
		names[sp.pid] = sp.name
	}
	var out []stopRec
	for _, sg := range hs.h.signalList() {
		out = append(out, stopRec{names[sg.pid], hs.since(sg.at)})
	}
	return out
}

// Shutdown stops groups from the highest priority number down, each only
// after the previous group stopped; a slow group delays the next.
func TestShutdownOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := cfgOf(
			grp("lo", 5, prog("p1"), prog("boff")),
			grp("mid", 50, prog("p2"), prog("p3")),
			grp("hi", 100, prog("p4")),
		)
		hs := newHarness(t, cfg, nil)
		hs.exit(hs.lastPid("boff"), 1) // BACKOFF
		hs.sleepUntil(time.Second / 2)
		hs.wantState("lo:boff", Backoff)
		hs.sleepUntil(1500 * time.Millisecond)
		hs.wantState("lo:boff", Starting) // retried at 1 s
		hs.exit(hs.lastPid("boff"), 1)
		hs.wantState("lo:boff", Backoff)
		hs.sleepUntil(2 * time.Second)

		done := async(func() error { return hs.s.Shutdown(context.Background()) })
		synctest.Wait()
		if got := hs.stops(); !slices.Equal(got, []stopRec{{"p4", 2 * time.Second}}) {
			t.Fatalf("first stops %v", got)
		}
		wantCode(t, hs.s.StartProcess(context.Background(), "p4", false), CodeShutdownState)
		hs.sleepUntil(6 * time.Second) // p4 is slow to stop
		if !hs.log.has("INFO waiting for boff, p1, p2, p3, p4 to die") {
			t.Fatal(hs.log.lines)
		}
		if n := len(hs.stops()); n != 1 {
			t.Fatal("next group signalled before the slow one stopped")
		}
		hs.killed(hs.lastPid("p4"), syscall.SIGTERM)
		want := []stopRec{{"p4", 2 * time.Second}, {"p3", 6 * time.Second}, {"p2", 6 * time.Second}}
		if got := hs.stops(); !slices.Equal(got, want) {
			t.Fatalf("stops %v, want %v", got, want)
		}
		hs.killed(hs.lastPid("p2"), syscall.SIGTERM)
		if n := len(hs.stops()); n != 3 {
			t.Fatal("lo signalled before all of mid stopped")
		}
		hs.killed(hs.lastPid("p3"), syscall.SIGTERM)
		if got := hs.stops(); len(got) != 4 || got[3].name != "p1" {
			t.Fatalf("stops %v", got)
		}
		hs.wantState("lo:boff", Fatal)
		if _, ok := ready(t, done); ok {
			t.Fatal("shutdown finished with p1 alive")
		}
		hs.killed(hs.lastPid("p1"), syscall.SIGTERM)
		if err, ok := ready(t, done); !ok || err != nil {
			t.Fatalf("shutdown: %v %v", err, ok)
		}
		if err := <-hs.runErr; err != nil {
			t.Fatalf("Run: %v", err)
		}
		hs.runErr <- nil // for the cleanup
		var sup []SupervisorState
		for _, e := range hs.drain() {
			if e.Kind == EventSupervisorState {
				sup = append(sup, e.Supervisor)
			}
		}
		if !slices.Equal(sup, []SupervisorState{StateRunning, StateShutdown}) {
			t.Fatal(sup)
		}
		wantCode(t, hs.s.StartProcess(context.Background(), "p1", false), CodeShutdownState)
	})
}

// Restart is the same ordered stop; Run then returns ErrRestart. No
// automatic restart happens meanwhile.
func TestRestartStopsWithoutRespawn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := cfgOf(grp("lo", 1, prog("x", restart(config.AutorestartTrue))), grp("hi", 2, prog("y")))
		hs := newHarness(t, cfg, nil)
		hs.sleepUntil(2 * time.Second)
		done := async(func() error { return hs.s.Restart(context.Background()) })
		synctest.Wait()
		hs.exit(hs.lastPid("x"), 1) // x dies on its own while y stops
		hs.wantState("lo:x", Exited)
		hs.killed(hs.lastPid("y"), syscall.SIGTERM)
		if err, ok := ready(t, done); !ok || err != nil {
			t.Fatalf("restart: %v %v", err, ok)
		}
		if err := <-hs.runErr; !errors.Is(err, ErrRestart) {
			t.Fatalf("Run: %v", err)
		}
		hs.runErr <- nil
		if n := len(hs.h.spawnList()); n != 2 {
			t.Fatalf("%d spawns: respawned during restart", n)
		}
		if s := hs.stops(); len(s) != 1 || s[0].name != "y" {
			t.Fatal(s)
		}
	})
}

// Deliberate fix of #217: stop all follows the shutdown order and waiting.
func TestStopAllOrdered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := cfgOf(grp("lo", 5, prog("p1")), grp("hi", 100, prog("p4")))
		hs := newHarness(t, cfg, nil)
		hs.sleepUntil(2 * time.Second)
		got := make(chan []Result, 1)
		go func() {
			r, _ := hs.s.StopAll(context.Background(), true)
			got <- r
		}()
		synctest.Wait()
		if s := hs.stops(); !slices.Equal(s, []stopRec{{"p4", 2 * time.Second}}) {
			t.Fatal(s)
		}
		hs.sleepUntil(3 * time.Second)
		hs.killed(hs.lastPid("p4"), syscall.SIGTERM)
		if s := hs.stops(); !slices.Equal(s, []stopRec{{"p4", 2 * time.Second}, {"p1", 3 * time.Second}}) {
			t.Fatal(s)
		}
		hs.killed(hs.lastPid("p1"), syscall.SIGTERM)
		r := <-got
		want := []Result{{"p4", "hi", CodeSuccess, "OK"}, {"p1", "lo", CodeSuccess, "OK"}}
		if !slices.Equal(r, want) {
			t.Fatalf("results %v", r)
		}
		st, _ := hs.s.State(context.Background())
		if st != StateRunning {
			t.Fatal(st)
		}
		hs.sleepUntil(time.Minute)
		if n := len(hs.h.spawnList()); n != 2 {
			t.Fatalf("%d spawns after stop all", n)
		}
	})
}

// stopProcessGroup signals every process at once, ascending.
func TestStopGroupAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(grp("g", 1, prog("b"), prog("a", prio(5)), prog("c", manual))), nil)
		hs.sleepUntil(2 * time.Second)
		r, err := hs.s.StopGroup(context.Background(), "g", false)
		if err != nil || len(r) != 2 || r[0].Name != "a" || r[1].Name != "b" {
			t.Fatalf("%v %v", r, err)
		}
		if s := hs.stops(); len(s) != 2 || s[0].name != "a" || s[1].name != "b" {
			t.Fatal(s)
		}
	})
}

// signalAllProcesses signals even during a shutdown, then faults.
func TestSignalAllDuringShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(grp("lo", 1, prog("a")), grp("hi", 2, prog("b"))), nil)
		hs.sleepUntil(2 * time.Second)
		_ = async(func() error { return hs.s.Shutdown(context.Background()) })
		synctest.Wait()
		_, err := hs.s.SignalAll(context.Background(), syscall.SIGUSR2)
		wantCode(t, err, CodeShutdownState)
		var usr2 int
		for _, sg := range hs.h.signalList() {
			if sg.sig == syscall.SIGUSR2 {
				usr2++
			}
		}
		if usr2 != 2 {
			t.Fatalf("%d USR2 sent", usr2)
		}
		_, err = hs.s.SignalGroup(context.Background(), "lo", syscall.SIGUSR2)
		wantCode(t, err, CodeShutdownState)
	})
}

// At shutdown a listener pool is stopped once the host says it delivered
// what it buffered, or after poolDrainBound when it never does.
func TestShutdownDrainsListenerPool(t *testing.T) {
	for _, c := range []struct {
		name    string
		drainIn time.Duration // 0: never
		want    time.Duration // when the listener is signalled
	}{
		{"drained", 300 * time.Millisecond, 2*time.Second + 300*time.Millisecond},
		{"bound", 0, 2*time.Second + poolDrainBound},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				watch := grp("watch", -1, prog("w"))
				watch.Kind = config.KindEventListener
				var asked []string
				hs := newHarness(t, cfgOf(grp("app", 10, prog("a")), watch), func(h *fakeHost) {
					h.drain = func(name string, done func()) {
						asked = append(asked, name)
						if c.drainIn > 0 {
							time.AfterFunc(c.drainIn, done)
						}
					}
				})
				hs.sleepUntil(2 * time.Second)
				done := async(func() error { return hs.s.Shutdown(context.Background()) })
				synctest.Wait()
				hs.killed(hs.lastPid("a"), syscall.SIGTERM)
				if s := hs.stops(); len(s) != 1 || s[0].name != "a" {
					t.Fatalf("stops %v: the pool was signalled before it drained", s)
				}
				hs.sleepUntil(5 * time.Second)
				want := []stopRec{{"a", 2 * time.Second}, {"w", c.want}}
				if s := hs.stops(); !slices.Equal(s, want) || !slices.Equal(asked, []string{"watch"}) {
					t.Fatalf("stops %v, drains asked %v; want %v", s, asked, want)
				}
				hs.killed(hs.lastPid("w"), syscall.SIGTERM)
				if err, ok := ready(t, done); !ok || err != nil {
					t.Fatalf("shutdown: %v %v", err, ok)
				}
			})
		})
	}
}
