package supervisor

import (
	"context"
	"fmt"
	"slices"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

func dependsOn(deps ...config.Dependency) func(*config.Process) {
	return func(p *config.Process) { p.Drover.DependsOn = deps }
}

// web depends on db:ready; db's probe answers 2 s after its spawn: web is
// spawned then, not before, whatever the priorities; StopAll stops web
// first and db only once web is stopped.
func TestDependsOnReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		db := single("db", readyProbe("tcp://127.0.0.1:5432", time.Minute))
		db.Priority = 500
		web := single("web", dependsOn(config.Dependency{Name: "db", Cond: config.DepReady}))
		web.Priority = 1 // priority alone would start web first
		hs := newHarness(t, cfgOf(web, db), func(h *fakeHost) {
			h.ready = func(ctx context.Context, p *config.Process, pid int) error {
				if p.Name == "db" {
					time.Sleep(2 * time.Second)
				}
				return nil
			}
		})
		hs.wantState("web", Stopped)
		if w := hs.info("web").Waiting; w != "waiting for db:ready (db is STARTING)" {
			t.Fatalf("waiting %q", w)
		}
		hs.sleepUntil(3 * time.Second)
		hs.wantState("db", Running)
		if got := hs.spawnTimes("web"); !slices.Equal(got, secs(2)) {
			t.Fatalf("web spawned at %v", got)
		}
		hs.sleepUntil(4 * time.Second)
		hs.wantState("web", Running)
		if w := hs.info("web").Waiting; w != "" {
			t.Fatalf("waiting %q", w)
		}
		webPid, dbPid := hs.lastPid("web"), hs.lastPid("db")
		done := async(func() error { _, err := hs.s.StopAll(context.Background(), true); return err })
		synctest.Wait()
		if got := hs.h.signalList(); len(got) != 1 || got[0].pid != webPid {
			t.Fatalf("signals %+v: web (%d) alone first", got, webPid)
		}
		hs.killed(webPid, syscall.SIGTERM)
		if got := hs.h.signalList(); len(got) != 2 || got[1].pid != dbPid {
			t.Fatalf("signals %+v: db (%d) after web", got, dbPid)
		}
		hs.killed(dbPid, syscall.SIGTERM)
		if err, ok := ready(t, done); !ok || err != nil {
			t.Fatal(err, ok)
		}
	})
}

// A dependency that goes FATAL leaves its dependent waiting, saying so,
// with no spawn and no timer; a later start of the dependency releases it.
func TestDependsOnFatalWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(
			single("db", retries(0)),
			single("web", dependsOn(config.Dependency{Name: "db", Cond: config.DepRunning})),
		), nil)
		hs.exit(hs.lastPid("db"), 1)
		hs.wantState("db", Fatal)
		hs.sleepUntil(time.Hour)
		if n := len(hs.spawnTimes("web")); n != 0 {
			t.Fatalf("web spawned %d times", n)
		}
		if w := hs.info("web").Waiting; w != "waiting for db:running (db is FATAL)" {
			t.Fatalf("waiting %q", w)
		}
		if len(hs.s.core.timers) != 0 {
			t.Fatalf("%d timers armed while waiting", len(hs.s.core.timers))
		}
		if err := hs.s.StartProcess(context.Background(), "db", false); err != nil {
			t.Fatal(err)
		}
		hs.sleepUntil(time.Hour + 2*time.Second)
		hs.wantState("db", Running)
		if got := hs.spawnTimes("web"); !slices.Equal(got, secs(3601)) {
			t.Fatalf("web spawned at %v", got)
		}
	})
}

// exited waits for a successful exit (a migration); started for a pid.
// A stop of a held process drops the hold.
func TestDependsOnExitedAndStarted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(
			grp("jobs", 999,
				prog("migrate", startsecs(0), restart(config.AutorestartFalse)),
				prog("worker", dependsOn(config.Dependency{Name: "migrate", Cond: config.DepExited})),
			),
			single("side", dependsOn(config.Dependency{Name: "migrate", Cond: config.DepStarted})),
			single("held", dependsOn(config.Dependency{Name: "migrate", Cond: config.DepExited})),
		), nil)
		hs.wantState("jobs:worker", Stopped)
		if got := hs.spawnTimes("side"); !slices.Equal(got, secs(0)) {
			t.Fatalf("side spawned at %v (jobs:migrate has a pid at once)", got)
		}
		if err := hs.s.StopProcess(context.Background(), "held", false); err != nil {
			t.Fatal(err)
		}
		hs.sleepUntil(5 * time.Second)
		hs.exit(hs.lastPid("migrate"), 1) // a failed migration: keep waiting
		hs.wantState("jobs:migrate", Exited)
		if n := len(hs.spawnTimes("worker")); n != 0 {
			t.Fatal("worker started after a failed migration")
		}
		if err := hs.s.StartProcess(context.Background(), "jobs:migrate", false); err != nil {
			t.Fatal(err)
		}
		hs.sleepUntil(7 * time.Second)
		hs.exit(hs.lastPid("migrate"), 0)
		if got := hs.spawnTimes("worker"); !slices.Equal(got, secs(7)) {
			t.Fatalf("worker spawned at %v", got)
		}
		if n := len(hs.spawnTimes("held")); n != 0 {
			t.Fatal("a stopped hold was released")
		}
	})
}

// depOrder: dependencies first, priority and name otherwise.
func TestDepOrder(t *testing.T) {
	c := newCore(New(nil, nil, nil))
	for _, g := range []*config.Group{
		single("a", prio(1), dependsOn(config.Dependency{Name: "c", Cond: config.DepRunning})),
		single("b"),
		single("c", dependsOn(config.Dependency{Name: "d", Cond: config.DepRunning})),
		single("d"),
	} {
		g.Priority = g.Processes[0].Priority
		c.addGroup(g, false)
	}
	var got []string
	for _, g := range c.order {
		got = append(got, g.name)
	}
	if want := []string{"d", "c", "a", "b"}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

// 500 programs held by one db: all released by its RUNNING, in one pass
// (the hold costs no timer and no spin meanwhile).
func TestDependsOnManyHeld(t *testing.T) {
	t0 := time.Now()
	synctest.Test(t, func(t *testing.T) {
		gs := []*config.Group{single("db", readyProbe("tcp://127.0.0.1:5432", time.Minute))}
		for i := range 500 {
			gs = append(gs, single(fmt.Sprintf("w%03d", i), dependsOn(config.Dependency{Name: "db", Cond: config.DepReady})))
		}
		hs := newHarness(t, cfgOf(gs...), func(h *fakeHost) {
			h.ready = func(ctx context.Context, p *config.Process, pid int) error {
				if p.Name == "db" {
					time.Sleep(2 * time.Second)
				}
				return nil
			}
		})
		if n := len(hs.h.spawnList()); n != 1 {
			t.Fatalf("%d spawns before db is ready", n)
		}
		hs.sleepUntil(2 * time.Second)
		sp := hs.h.spawnList()
		if len(sp) != 501 {
			t.Fatalf("%d spawns", len(sp))
		}
		for _, s := range sp[1:] {
			if hs.since(s.at) != 2*time.Second {
				t.Fatalf("%s spawned at %v", s.name, hs.since(s.at))
			}
		}
	})
	t.Logf("500 held programs: %v of wall time", time.Since(t0).Round(time.Millisecond))
}
