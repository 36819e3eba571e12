package supervisor

import (
	"context"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

// fuzzConfigs are the two configurations the fuzzer updates between.
func fuzzConfigs() [2]*config.Config {
	a := cfgOf(
		single("a", startsecs(0), restart(config.AutorestartTrue)),
		single("b", retries(2)),
		grp("g", 5, prog("x", stopwait(2*time.Second), func(p *config.Process) { p.StopAsGroup = true }), prog("y", manual)),
	)
	b := cfgOf(
		single("a", startsecs(0), restart(config.AutorestartTrue)),
		single("c", startsecs(0)),
		grp("g", 7, prog("x"), prog("y")),
	)
	return [2]*config.Config{a, b}
}

var fuzzNames = []string{"a", "b", "c", "g:x", "g:y", "g:*", "nope"}

// FuzzStateMachine drives random requests, exits and time through the
// supervisor and checks the table's invariants after every step.
func FuzzStateMachine(f *testing.F) {
	f.Add([]byte{0, 0, 2, 0, 4, 10, 1, 1, 3, 1, 4, 50})
	f.Add([]byte{7, 0, 4, 20, 2, 1, 9, 2, 6, 3, 4, 200, 8, 5})
	f.Add([]byte{1, 3, 4, 30, 3, 3, 4, 30, 10, 0, 4, 255})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64 {
			data = data[:64]
		}
		synctest.Test(t, func(t *testing.T) { fuzzRun(t, data) })
	})
}

func fuzzRun(t *testing.T, data []byte) {
	cfgs := fuzzConfigs()
	hs := newHarness(t, cfgs[0], nil)
	ctx := context.Background()
	reaped := map[int]bool{}
	alive := func() []int {
		var out []int
		for _, sp := range hs.h.spawnList() {
			if sp.pid != 0 && !reaped[sp.pid] {
				out = append(out, sp.pid)
			}
		}
		return out
	}
	which := 0
	for i := 0; i+1 < len(data); i += 2 {
		op, arg := data[i]%11, int(data[i+1])
		name := fuzzNames[arg%len(fuzzNames)]
		switch op {
		case 0:
			go func() { _ = hs.s.StartProcess(ctx, name, arg%2 == 0) }()
		case 1:
			go func() { _ = hs.s.StopProcess(ctx, name, arg%2 == 0) }()
		case 2, 3:
			if pids := alive(); len(pids) > 0 {
				pid := pids[arg%len(pids)]
				reaped[pid] = true
				if op == 2 {
					hs.s.Exited(pid, syscall.WaitStatus((arg%3)<<8))
				} else {
					hs.s.Exited(pid, syscall.WaitStatus(syscall.SIGKILL))
				}
			}
		case 4:
			time.Sleep(time.Duration(arg) * 50 * time.Millisecond)
		case 5:
			_ = hs.s.SignalProcess(ctx, name, syscall.Signal(arg%70))
		case 6:
			go func() { _, _ = hs.s.StartGroup(ctx, "g", arg%2 == 0) }()
			go func() { _, _ = hs.s.StopGroup(ctx, "g", arg%3 == 0) }()
		case 7:
			which = 1 - which
			go func() { _, _ = hs.s.Update(ctx, cfgs[which], nil) }()
		case 8:
			hs.s.Exited(90000+arg, 0)
		case 9:
			_ = hs.s.RemoveGroup(ctx, name)
			_ = hs.s.AddGroup(ctx, cfgs[which].Groups[arg%len(cfgs[which].Groups)])
		case 10:
			go func() { _, _ = hs.s.StopAll(ctx, arg%2 == 0) }()
			go func() { _, _ = hs.s.StartAll(ctx, arg%2 == 0) }()
		}
		synctest.Wait()
		hs.inspect(func(c *core) { checkInvariants(t, c) })
	}
	// Shut down, reaping whatever gets signalled, within a bounded number
	// of rounds.
	done := async(func() error { return hs.s.Shutdown(ctx) })
	for round := 0; ; round++ {
		if _, ok := ready(t, done); ok {
			break
		}
		if round > 1000 {
			t.Fatal("shutdown does not finish")
		}
		for _, sg := range hs.h.signalList() {
			if !reaped[sg.pid] {
				reaped[sg.pid] = true
				hs.s.Exited(sg.pid, syscall.WaitStatus(sg.sig))
			}
		}
		time.Sleep(time.Second)
	}
	<-hs.runErr
	hs.runErr <- nil
}

func checkInvariants(t *testing.T, c *core) {
	t.Helper()
	fail := func(format string, args ...any) { t.Fatalf("invariant: "+format, args...) }
	stopping := 0
	for _, g := range c.order {
		if c.groups[g.name] != g {
			fail("order and map disagree on %s", g.name)
		}
		for _, p := range g.procs {
			if p.state == Stopping {
				stopping++
			}
			if p.cur != nil && p.cur.pid != 0 && c.pids[p.cur.pid] != p.cur {
				fail("%s: pid %d not routed", p.cfg.Name, p.cur.pid)
			}
			switch p.state {
			case Stopped, Exited, Fatal, Backoff:
				if p.cur != nil {
					fail("%s in %v has a live generation", p.cfg.Name, p.state)
				}
			case Starting, Running:
				if p.cur == nil {
					fail("%s in %v has no generation", p.cfg.Name, p.state)
				}
			}
			if p.state == Backoff && c.state == StateRunning && !p.t.armed() {
				fail("%s in BACKOFF without a retry", p.cfg.Name)
			}
			if p.state == Starting && p.cur != nil && p.cur.pid != 0 && p.cfg.StartSecs > 0 && !p.t.armed() {
				fail("%s STARTING without a startsecs deadline", p.cfg.Name)
			}
		}
	}
	if len(c.order) != len(c.groups) {
		fail("%d ordered groups, %d in the map", len(c.order), len(c.groups))
	}
	if stopping != c.stopping {
		fail("stopping counter %d, %d processes STOPPING", c.stopping, stopping)
	}
	for pid, inst := range c.pids {
		if inst.p.cur != inst || inst.pid != pid {
			fail("pid %d routes to a stale generation", pid)
		}
	}
	for i, tm := range c.timers {
		if tm.idx != i {
			fail("timer heap index %d != %d", tm.idx, i)
		}
	}
}
