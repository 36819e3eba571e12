package supervisor

import (
	"context"
	"sync"
	"time"
)

// On-demand usage (status, /metrics): the process trees are sampled when a
// client asks, on the caller's goroutine, never on a timer. CPU percent
// needs two samples: it is the average since the previous on-demand sample
// of the same tree when that one is at most usageWindow old, else unknown
// (-1) and only CPU seconds are reported. So the first `drover status`
// shows no percent, and a console or a scrape asking every few seconds
// gets a current figure.
const usageWindow = time.Minute

// Usage is one process's resources: the sum over its process tree (the
// main pid and its descendants), and during a hand-off over both
// generations' trees.
type Usage struct {
	Name, Group string
	Pid         int
	// Procs is the number of processes sampled (0: not running).
	Procs int
	// RSS is the resident set in bytes, each process's counted in full.
	RSS int64
	// CPU is the user+system time of the processes alive now.
	CPU time.Duration
	// CPUPercent is the percent of one CPU since the previous sample of
	// the same tree, or -1 when there was none in the last usageWindow.
	CPUPercent float64
}

// usageCache keeps the last sample's CPU time per root pid.
type usageCache struct {
	mu   sync.Mutex
	at   time.Time
	last map[int]time.Duration
}

// Usage samples every running process's tree now (nil without a Host that
// can: Sampler). Sorted like Stats.
func (s *Supervisor) Usage(ctx context.Context) ([]Usage, error) {
	st, err := s.Stats(ctx)
	if err != nil {
		return nil, err
	}
	return s.SampleUsage(st), nil
}

// SampleUsage samples the trees of the processes in st (from Stats).
func (s *Supervisor) SampleUsage(st []Stats) []Usage {
	smp, ok := s.host.(Sampler)
	if !ok {
		return nil
	}
	roots := make([]int, 0, len(st))
	for i := range st {
		if st[i].Pid > 0 {
			roots = append(roots, st[i].Pid)
		}
		if st[i].HandoffPid > 0 {
			roots = append(roots, st[i].HandoffPid)
		}
	}
	var trees map[int]TreeUsage
	if len(roots) > 0 {
		trees = smp.SampleTrees(roots)
	}
	now := time.Now()
	s.usage.mu.Lock()
	defer s.usage.mu.Unlock()
	prev, prevAt := s.usage.last, s.usage.at
	fresh := !prevAt.IsZero() && now.Sub(prevAt) <= usageWindow && now.After(prevAt)
	last := make(map[int]time.Duration, len(roots))
	out := make([]Usage, len(st))
	for i := range st {
		u := Usage{Name: st[i].Name, Group: st[i].Group, Pid: st[i].Pid, CPUPercent: -1}
		var before time.Duration
		known := fresh
		for _, root := range [2]int{st[i].Pid, st[i].HandoffPid} {
			if root == 0 {
				continue
			}
			tree, ok := trees[root]
			if !ok {
				continue
			}
			var cpu time.Duration
			for _, p := range tree {
				cpu += p.CPU
			}
			u.Procs += len(tree)
			u.RSS += tree.RSS()
			u.CPU += cpu
			last[root] = cpu
			b, ok := prev[root]
			known = known && ok
			before += b
		}
		if known && u.Procs > 0 {
			u.CPUPercent = max(0, float64(u.CPU-before)) / float64(now.Sub(prevAt)) * 100
		}
		out[i] = u
	}
	s.usage.last, s.usage.at = last, now
	return out
}
