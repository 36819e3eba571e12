package daemon

import (
	"os"
	"strconv"
	"testing"
)

func TestChooseSuccessor(t *testing.T) {
	cands := []procEntry{{pid: 300, start: 50}, {pid: 310, start: 90}, {pid: 320, start: 70}}
	for _, c := range []struct {
		cands []procEntry
		hint  int
		want  int
		ok    bool
	}{
		{nil, 0, 0, false},
		{nil, 300, 0, false},    // a hint that is no candidate is no successor
		{cands, 0, 310, true},   // the youngest
		{cands, 300, 300, true}, // the pidfile wins when it qualifies
		{cands, 999, 310, true}, // a stale pidfile is ignored
		{[]procEntry{{5, 1, false}, {7, 1, false}}, 0, 7, true}, // tie: the higher pid
		// A fork that never exec'd (an orphaned worker) is taken only
		// when nothing else is, or when the pidfile names it.
		{[]procEntry{{300, 50, false}, {310, 90, true}}, 0, 300, true},
		{[]procEntry{{310, 90, true}, {300, 50, false}}, 0, 300, true},
		{[]procEntry{{310, 90, true}, {300, 50, false}}, 310, 310, true},
		{[]procEntry{{310, 90, true}, {320, 95, true}}, 0, 320, true},
	} {
		got, ok := chooseSuccessor(c.cands, c.hint)
		if got != c.want || ok != c.ok {
			t.Errorf("chooseSuccessor(%v, %d) = %d %v, want %d %v", c.cands, c.hint, got, ok, c.want, c.ok)
		}
	}
}

// The lookup's cost with this machine's process count (run under load it
// is dominated by scheduling, not by the scan).
func BenchmarkSuccessorScan(b *testing.B) {
	self := os.Getpid()
	b.Run("children", func(b *testing.B) {
		for b.Loop() {
			scanChildren(self, self)
		}
	})
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			for _, pid := range allPids() {
				os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
			}
		}
	})
}
