package supervisor

import (
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

// reloadSteps are the EventReload steps of name so far: "PHASE old new
// elapsed[ error]".
func (hs *harness) reloadSteps(name string) []string {
	var out []string
	for _, e := range hs.drain() {
		if e.Kind != EventReload || e.Name != name {
			continue
		}
		r := e.Reload
		s := fmt.Sprintf("%s %d %d %v", r.Phase, r.OldPid, r.NewPid, r.Elapsed)
		if r.Error != "" {
			s += " " + r.Error
		}
		out = append(out, s)
	}
	return out
}

// A blue/green reload publishes each step with both generations' pids, in
// order with the process's own events; a failed one says why.
func TestReloadEventsBlueGreen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs, ra, old := bgHarness(t)
		next := old + 1
		ra.set(next, 2*time.Second, nil)
		done := async(func() error { return hs.s.ReloadProcess(bg, "web") })
		synctest.Wait()
		time.Sleep(2 * time.Second)
		synctest.Wait()
		time.Sleep(300 * time.Millisecond)
		hs.exit(old, 0)
		if err, ok := ready(t, done); !ok || err != nil {
			t.Fatalf("reload: %v %v", err, ok)
		}
		synctest.Wait() // the outcome is published once the request ended
		o, n := itoa(old), itoa(next)
		want := []string{"STARTED " + o + " 0 0s", "SPAWNED " + o + " " + n + " 0s", "READY " + o + " " + n + " 2s",
			"RETIRING " + o + " " + n + " 2s", "RETIRED " + o + " " + n + " 2.3s", "DONE " + o + " " + n + " 2.3s"}
		if got := hs.reloadSteps("web"); !slices.Equal(got, want) {
			t.Fatalf("steps\n got %q\nwant %q", got, want)
		}
		for _, e := range hs.drain() {
			if e.Kind == EventReload && (e.Group != "web" || e.Reload.Strategy != "bluegreen") {
				t.Fatalf("%+v", e)
			}
		}

		// Not ready: the new generation is stopped, the reload fails.
		hs.evmu.Lock()
		hs.events = nil
		hs.evmu.Unlock()
		next = old + 2
		ra.set(next, time.Second, fmt.Errorf("probe: 502"))
		done = async(func() error { return hs.s.ReloadProcess(bg, "web") })
		time.Sleep(time.Second)
		synctest.Wait()
		hs.exit(next, 0)
		if err, _ := ready(t, done); err == nil {
			t.Fatal("reload succeeded")
		}
		synctest.Wait()
		got := hs.reloadSteps("web")
		cur := itoa(old + 1)
		if len(got) != 3 || got[0] != "STARTED "+cur+" 0 0s" || got[1] != "SPAWNED "+cur+" "+itoa(next)+" 0s" ||
			!strings.HasPrefix(got[2], "FAILED "+cur+" 0 1s web: the new generation (pid "+itoa(next)+") was not ready (probe: 502)") {
			t.Fatalf("steps %q", got)
		}
	})
}

// The other strategies: STARTED, then DONE with the pid that serves; a
// refused reload publishes nothing.
func TestReloadEventsOtherStrategies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(
			single("r", startsecs(0), reloadBy(config.ReloadRestart, 0)),
			single("s", startsecs(0), reloadBy(config.ReloadSignal, syscall.SIGHUP)),
			single("off", startsecs(0), func(p *config.Process) { p.Autostart = false }),
		), nil)
		hs.wantState("r", Running)
		hs.wantState("s", Running)
		r0, s0 := hs.lastPid("r"), hs.lastPid("s")
		done := async(func() error { return hs.s.ReloadProcess(bg, "r") })
		synctest.Wait()
		hs.killed(r0, syscall.SIGTERM) // the fake host's process obeys the stop
		if err, ok := ready(t, done); !ok || err != nil {
			t.Fatalf("restart: %v %v", err, ok)
		}
		if err := hs.s.ReloadProcess(bg, "s"); err != nil {
			t.Fatal(err)
		}
		if err := hs.s.ReloadProcess(bg, "off"); err == nil {
			t.Fatal("a stopped process reloaded")
		}
		synctest.Wait()
		r1 := hs.lastPid("r")
		if got, want := hs.reloadSteps("r"), []string{"STARTED " + itoa(r0) + " 0 0s", "DONE " + itoa(r0) + " " + itoa(r1) + " 0s"}; !slices.Equal(got, want) {
			t.Errorf("restart: %q, want %q", got, want)
		}
		if got, want := hs.reloadSteps("s"), []string{"STARTED " + itoa(s0) + " 0 0s", "DONE " + itoa(s0) + " " + itoa(s0) + " 0s"}; !slices.Equal(got, want) {
			t.Errorf("signal: %q, want %q", got, want)
		}
		if got := hs.reloadSteps("off"); len(got) != 0 {
			t.Errorf("refused: %q", got)
		}
		// The restart's STARTED comes before its stop.
		var order []string
		for _, e := range hs.drain() {
			if e.Name == "r" && (e.Kind == EventReload || e.To == Stopping) {
				if e.Kind == EventReload {
					order = append(order, string(e.Reload.Phase))
				} else {
					order = append(order, "STOPPING")
				}
			}
		}
		if !slices.Equal(order, []string{"STARTED", "STOPPING", "DONE"}) {
			t.Errorf("restart order %q", order)
		}
	})
}
