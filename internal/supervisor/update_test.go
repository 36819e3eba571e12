package supervisor

import (
	"context"
	"slices"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

// update: removed groups stop and go, changed groups stop and come back
// with the new config, added groups start; unchanged groups are untouched.
func TestUpdateDiff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		old := cfgOf(single("same"), single("chg"), single("gone"), grp("grp", 5, prog("m1"), prog("m2")))
		hs := newHarness(t, old, nil)
		hs.sleepUntil(2 * time.Second)
		samePid := hs.lastPid("same")

		newCfg := cfgOf(
			single("same"),
			single("chg", func(p *config.Process) { p.Command = "/bin/chg --new" }),
			grp("grp", 5, prog("m1"), prog("m2", func(p *config.Process) { p.Environment = config.Env{{Key: "A", Value: "1"}} })),
			single("new"),
			single("newmanual", manual),
		)
		newCfg.Groups[0].Pos = config.Pos{File: "other.conf", Line: 9} // positions do not count
		d, err := hs.s.Diff(bg, newCfg)
		if err != nil {
			t.Fatal(err)
		}
		want := UpdateResult{Added: []string{"new", "newmanual"}, Changed: []string{"chg", "grp"}, Removed: []string{"gone"}}
		if !slices.Equal(d.Added, want.Added) || !slices.Equal(d.Changed, want.Changed) || !slices.Equal(d.Removed, want.Removed) {
			t.Fatalf("diff %+v", d)
		}

		type out struct {
			r   UpdateResult
			err error
		}
		got := make(chan out, 1)
		go func() {
			r, err := hs.s.Update(bg, newCfg, nil)
			got <- out{r, err}
		}()
		synctest.Wait()
		// chg, gone, m1 and m2 are being stopped; same is untouched.
		stopped := map[string]bool{}
		for _, s := range hs.stops() {
			stopped[s.name] = true
		}
		if len(stopped) != 4 || !stopped["chg"] || !stopped["gone"] || !stopped["m1"] || !stopped["m2"] {
			t.Fatalf("stopped %v", stopped)
		}
		select {
		case <-got:
			t.Fatal("update replied before the groups stopped")
		default:
		}
		for _, name := range []string{"chg", "gone", "m1", "m2"} {
			hs.killed(hs.lastPid(name), syscall.SIGTERM)
		}
		o := <-got
		if o.err != nil || !slices.Equal(o.r.Added, want.Added) || !slices.Equal(o.r.Changed, want.Changed) || !slices.Equal(o.r.Removed, want.Removed) {
			t.Fatalf("update %+v %v", o.r, o.err)
		}
		synctest.Wait()
		if hs.lastPid("same") != samePid {
			t.Fatal("unchanged group restarted")
		}
		hs.wantState("same", Running)
		hs.wantState("chg", Starting)
		hs.wantState("grp:m1", Starting)
		hs.wantState("new", Starting)
		hs.wantState("newmanual", Stopped)
		if _, err := hs.s.ProcessInfo(bg, "gone"); err == nil {
			t.Fatal("removed group still there")
		}
		gs, _ := hs.s.Groups(bg)
		if len(gs) != 5 || gs[0].Name != "grp" {
			t.Fatalf("groups %v", gs)
		}
		for _, g := range gs {
			if g.Name == "chg" && g.Processes[0].Command != "/bin/chg --new" {
				t.Fatal("changed group kept its old config")
			}
		}
		var evs []string
		for _, e := range hs.drain() {
			switch e.Kind {
			case EventGroupAdded:
				evs = append(evs, "+"+e.Group)
			case EventGroupRemoved:
				evs = append(evs, "-"+e.Group)
			}
		}
		wantEv := []string{"+grp", "+chg", "+gone", "+same", "-gone", "-chg", "+chg", "-grp", "+grp", "+new", "+newmanual"}
		if !slices.Equal(evs, wantEv) {
			t.Fatalf("group events %v\nwant %v", evs, wantEv)
		}
	})
}

// Naming groups limits the update; an unknown name changes nothing.
func TestUpdateNamed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("a"), single("b", manual)), nil)
		newCfg := cfgOf(single("c", manual))
		_, err := hs.s.Update(bg, newCfg, []string{"nope"})
		wantCode(t, err, CodeBadName)
		r, err := hs.s.Update(bg, newCfg, []string{"b", "c"})
		if err != nil || !slices.Equal(r.Removed, []string{"b"}) || !slices.Equal(r.Added, []string{"c"}) || r.Changed != nil {
			t.Fatalf("%+v %v", r, err)
		}
		hs.wantState("a", Starting) // not named: kept although gone from the config
	})
}

func TestGroupEqual(t *testing.T) {
	a := single("x")
	b := single("x")
	if !groupEqual(a, b) {
		t.Fatal("equal groups differ")
	}
	b.Processes[0].Stdout = config.LogTarget{Auto: true, Path: "/tmp/x-stdout---sup-1.log"}
	a.Processes[0].Stdout = config.LogTarget{Auto: true, Path: "/tmp/x-stdout---sup-2.log"}
	if !groupEqual(a, b) {
		t.Fatal("AUTO log paths must not count")
	}
	b.Priority = 1
	if groupEqual(a, b) {
		t.Fatal("group priority must count")
	}
	c := single("x", func(p *config.Process) { p.ExitCodes = []int{0, 2} })
	if groupEqual(single("x"), c) {
		t.Fatal("process options must count")
	}
}

// The update waits for stops event-driven and a dropped client leaves
// nothing behind.
func TestUpdateCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("a")), nil)
		ctx, cancel := context.WithCancel(bg)
		done := async(func() error { _, err := hs.s.Update(ctx, cfgOf(), nil); return err })
		synctest.Wait()
		cancel()
		if err, ok := ready(t, done); !ok || err == nil {
			t.Fatal(err, ok)
		}
		var n int
		hs.inspect(func(c *core) { n = len(c.waiters) })
		if n != 0 {
			t.Fatalf("%d waiters", n)
		}
	})
}

// Bad input gets a fault and changes nothing; nothing panics.
func TestBadInput(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := cfgOf(nil, single("a", manual), &config.Group{Name: "e", Processes: []*config.Process{nil}})
		s := New(cfg, nil, nil)
		ctx, cancel := context.WithCancel(bg)
		defer cancel()
		go func() { _ = s.Run(ctx) }()
		_, err := s.Update(bg, nil, nil)
		wantCode(t, err, CodeBadArguments)
		_, err = s.Diff(bg, nil)
		wantCode(t, err, CodeBadArguments)
		wantCode(t, s.AddGroup(bg, nil), CodeBadName)
		if r, err := s.Diff(bg, cfgOf(nil, single("a", manual), single("a", manual))); err != nil || len(r.Added)+len(r.Changed)+len(r.Removed) != 1 {
			t.Fatal(r, err) // only "e" is gone
		}
		// Without a host every spawn fails cleanly.
		wantCode(t, s.StartProcess(bg, "a", true), CodeSpawnError)
	})
}
