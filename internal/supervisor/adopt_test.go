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

// TestAdoptTakesOverWithoutSpawning: a RUNNING record becomes the live
// generation (same pid, no spawn, its generation count kept), a STOPPED
// one is not autostarted, and the adopted pid's exit is handled like any
// other (autorestart, next generation number).
func TestAdoptTakesOverWithoutSpawning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now().Add(-time.Hour)
		hs := newHarness(t, cfgOf(grp("g", 1, prog("web", restart(config.AutorestartTrue)), prog("idle"))), func(h *fakeHost) {
			h.records = []ProcRecord{
				{Group: "g", Name: "web", State: Running, Pid: 500, Generation: 3, LastStart: t0, SpawnedAt: t0},
				{Group: "g", Name: "idle", State: Stopped, Generation: 1, LastStart: t0, LastStop: t0},
			}
		})
		hs.wantState("g:web", Running)
		hs.wantState("g:idle", Stopped)
		if n := len(hs.h.spawnList()); n != 0 {
			t.Fatalf("%d spawns after adoption, want 0", n)
		}
		if in := hs.info("g:web"); in.Pid != 500 || in.Start != t0.Unix() {
			t.Fatalf("info %+v", in)
		}
		if len(hs.h.adopted) != 1 || hs.h.adopted[0].Pid != 500 || hs.h.adopted[0].Generation != 3 {
			t.Fatalf("adopted %+v", hs.h.adopted)
		}
		if !hs.log.has("INFO took over: 'web' with pid 500 (generation 3)") {
			t.Fatal(hs.log.lines)
		}
		hs.exit(500, 1)
		hs.wantState("g:web", Starting)
		if gens := hs.h.gens; !slices.Equal(gens, []int{4}) {
			t.Fatalf("generations spawned %v, want [4]", gens)
		}
		if hs.h.releasedOf(500) != 1 {
			t.Fatal("adopted child not released at its exit")
		}
	})
}

// TestAdoptFailureRestartsOnce: a generation whose output cannot be taken
// over is killed, and started again only once it is gone: never two
// copies.
func TestAdoptFailureRestartsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("web")), func(h *fakeHost) {
			h.records = []ProcRecord{{Group: "web", Name: "web", State: Running, Pid: 500, Generation: 2}}
			h.adoptErr = map[string]error{"web": errors.New("no pipes")}
		})
		hs.wantState("web", Stopping)
		if !slices.Equal(hs.h.killTree, []int{500}) {
			t.Fatalf("killTree %v", hs.h.killTree)
		}
		if n := len(hs.h.spawnList()); n != 0 {
			t.Fatalf("spawned %d before the old copy was gone", n)
		}
		hs.killed(500, syscall.SIGKILL)
		hs.wantState("web", Starting)
		if n := len(hs.h.spawnList()); n != 1 {
			t.Fatalf("%d spawns, want 1", n)
		}
	})
}

// TestAdoptRemovedProgramKilled: a handed-over process the config no
// longer names is killed, not left running unsupervised.
func TestAdoptRemovedProgramKilled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("web")), func(h *fakeHost) {
			h.records = []ProcRecord{{Group: "old", Name: "old", State: Running, Pid: 700}}
		})
		if !slices.Equal(hs.h.killTree, []int{700}) {
			t.Fatalf("killTree %v", hs.h.killTree)
		}
	})
}

// TestFreezeWaitsForSettledAndHolds: Freeze waits until no process is
// between states, records the table, and holds the owner goroutine until
// resume: a request meanwhile is answered only after it.
func TestFreezeWaitsForSettledAndHolds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(grp("g", 1, prog("web", startsecs(3*time.Second)), prog("off", manual))), nil)
		type frozen struct {
			recs   []ProcRecord
			resume func()
			err    error
		}
		got := make(chan frozen, 1)
		go func() {
			r, resume, err := hs.s.Freeze(context.Background())
			got <- frozen{r, resume, err}
		}()
		synctest.Wait()
		select {
		case <-got:
			t.Fatal("Freeze answered while web was STARTING")
		default:
		}
		hs.sleepUntil(3 * time.Second)
		f := <-got
		if f.err != nil {
			t.Fatal(f.err)
		}
		defer f.resume() // a failure below must not leave the owner frozen
		pid := hs.lastPid("web")
		want := map[string]State{"web": Running, "off": Stopped}
		for _, r := range f.recs {
			if r.State != want[r.Name] || (r.Name == "web" && (r.Pid != pid || r.Generation != 1 || r.Child == nil)) {
				t.Fatalf("record %+v", r)
			}
		}
		done := make(chan struct{})
		go func() { hs.info("g:off"); close(done) }()
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("a request was answered while frozen")
		default:
		}
		f.resume()
		synctest.Wait()
		<-done
	})
}

// TestFreezeNotSettledSaysWhy: a Freeze that times out names what is
// between states.
func TestFreezeNotSettledSaysWhy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("web", startsecs(time.Minute))), nil)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, _, err := hs.s.Freeze(ctx)
		if !errors.Is(err, ErrNotSettled) || err.Error() != "processes are changing state: web is STARTING" {
			t.Fatalf("err = %v", err)
		}
		hs.wantState("web", Starting)
	})
}
