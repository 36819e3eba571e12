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

// AllProcessInfo gives every process the same snapshot as ProcessInfo,
// description included (they share one buffer there), in every state.
func TestAllProcessInfoMatchesProcessInfo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("new", manual), single("run"), single("dead", retries(0)),
			single("stop"), grp("g", 5, prog("b"), prog("a"))), nil)
		hs.exit(hs.lastPid("dead"), 1)
		hs.sleepUntil(26*time.Hour + 5*time.Second)
		_ = hs.s.StopProcess(bg, "stop", false)
		hs.killed(hs.lastPid("stop"), syscall.SIGTERM)
		all, err := hs.s.AllProcessInfo(bg)
		if err != nil || len(all) != 6 {
			t.Fatal(len(all), err)
		}
		descs := map[string]bool{}
		for _, got := range all {
			want := hs.info(got.Group + ":" + got.Name)
			if got != want {
				t.Errorf("AllProcessInfo %+v\nProcessInfo    %+v", got, want)
			}
			descs[fmt.Sprint(got.StateName, got.Pid, got.SpawnErr, got.Stop != 0)] = true
		}
		// What the descriptions derive from: run, a, b: RUNNING with a pid
		// each; new: never started; dead: spawnerr; stop: a stop time.
		if len(descs) != 6 {
			t.Errorf("snapshots %v", descs)
		}
	})
}

// AppendProcessInfo keeps what dst holds and overwrites every field of
// the reused capacity (a pooled slice holds an older snapshot there).
func TestAppendProcessInfoReuse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("new", manual), single("run"), single("dead", retries(0))), nil)
		hs.exit(hs.lastPid("dead"), 1)
		stale := Info{Name: "stale", Start: 1, Stop: 2, Pid: 3, Generation: 4, Reexecs: 5, PrevPid: 6,
			HandoffPid: 7, Reloading: "reexec", Strategy: "reexec", SpawnErr: "x", ExitStatus: 8}
		dst := make([]Info, 4)
		for i := range dst {
			dst[i] = stale
		}
		got, err := hs.s.AppendProcessInfo(bg, dst[:1])
		if err != nil {
			t.Fatal(err)
		}
		want, _ := hs.s.AllProcessInfo(bg)
		if len(got) != 4 || got[0] != stale || !slices.Equal(got[1:], want) {
			t.Fatalf("got %+v\nwant stale, then %+v", got, want)
		}
	})
}

// manyByPriority is n programs whose priorities reverse their name order,
// so that getAllProcessInfo must sort them.
func manyByPriority(n int) *config.Config {
	gs := make([]*config.Group, 0, n)
	for i := range n {
		g := single("p"+itoa(i), manual, startsecs(0))
		g.Priority = n - i
		gs = append(gs, g)
	}
	return cfgOf(gs...)
}

// BenchmarkAllProcessInfoUnordered is getAllProcessInfo over 500 RUNNING
// processes whose start order (priority) is not their name order.
func BenchmarkAllProcessInfoUnordered(b *testing.B) {
	s := runningConfig(b, manyByPriority(500))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if all, err := s.AllProcessInfo(ctx); err != nil || len(all) != 500 || all[0].Name != "p0" || all[0].State != Running {
			b.Fatal(err)
		}
	}
}
