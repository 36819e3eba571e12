package daemon

import (
	"os"
	"strconv"
	"testing"
)

func TestParseStat(t *testing.T) {
	line := "9132 (we ird) (x)) S 8863 8800 18398 0 -1 4194304 101 0 0 0 0 0 0 0 20 0 1 0 363478 3133440 389\n"
	st, ok := parseStat([]byte(line))
	if !ok || st != (procStat{state: 'S', ppid: 8863, pgid: 8800, start: 363478}) {
		t.Fatalf("%+v %v", st, ok)
	}
	for _, bad := range []string{"", "1 (x", "1 (x) S 1 2", "1 (x) S a 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20"} {
		if _, ok := parseStat([]byte(bad)); ok {
			t.Errorf("parsed %q", bad)
		}
	}
}

func TestChooseSuccessor(t *testing.T) {
	cands := []procEntry{{pid: 300, start: 50}, {pid: 310, start: 90}, {pid: 320, start: 70}}
	for _, c := range []struct {
		cands []procEntry
		hint  int
		want  int
		ok    bool
	}{
		{nil, 0, 0, false},
		{nil, 300, 0, false},                      // a hint that is no candidate is no successor
		{cands, 0, 310, true},                     // the youngest
		{cands, 300, 300, true},                   // the pidfile wins when it qualifies
		{cands, 999, 310, true},                   // a stale pidfile is ignored
		{[]procEntry{{5, 1}, {7, 1}}, 0, 7, true}, // tie: the higher pid
	} {
		got, ok := chooseSuccessor(c.cands, c.hint)
		if got != c.want || ok != c.ok {
			t.Errorf("chooseSuccessor(%v, %d) = %d %v, want %d %v", c.cands, c.hint, got, ok, c.want, c.ok)
		}
	}
}

// parseStat never panics and accepts only lines with the fields it reads.
func FuzzParseStat(f *testing.F) {
	f.Add([]byte("9132 (cat) R 8863 8863 18398 0 -1 4194304 101 0 0 0 0 0 0 0 20 0 1 0 363478 3133440 389\n"))
	f.Add([]byte("1 ((sd-pam)) S 0 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0"))
	f.Add([]byte("2 (a b) Z 1 1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, ok := parseStat(b)
		if !ok && st != (procStat{}) {
			t.Fatalf("rejected with fields %+v", st)
		}
	})
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
