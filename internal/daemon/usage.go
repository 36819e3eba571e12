package daemon

import (
	"os"
	"strconv"
	"time"

	"github.com/drover-sh/drover/internal/spawn"
	"github.com/drover-sh/drover/internal/supervisor"
)

// userHZ is the unit of /proc's CPU times: USER_HZ, 100 on every Linux
// (the kernel's ABI, whatever CONFIG_HZ is).
const userHZ = 100

var _ supervisor.Sampler = (*osHost)(nil)

// SampleTrees implements supervisor.Sampler: the RSS and CPU time of each
// root and its descendants, from /proc/PID/stat (the one reader,
// spawn.ReadProcStat). RSS there is statm's resident: shared pages (a
// pre-forked worker's copy-on-write pages) count in every process that
// maps them, as puma_worker_killer and pm2 count. The tree is found
// through the kernel's per-thread children lists; without them
// (CONFIG_PROC_CHILDREN off) one scan of /proc serves every root.
func (h *osHost) SampleTrees(roots []int) map[int]supervisor.TreeUsage {
	return sampleTrees(roots, int64(os.Getpagesize()))
}

func sampleTrees(roots []int, page int64) map[int]supervisor.TreeUsage {
	out := make(map[int]supervisor.TreeUsage, len(roots))
	var kids map[int][]int // ppid → children, from a scan; nil until needed
	var stats map[int]spawn.ProcStat
	for _, root := range roots {
		st, err := spawn.ReadProcStat(root)
		if err != nil || st.State == 'Z' || st.State == 'X' {
			continue
		}
		tree := supervisor.TreeUsage{usage(root, st, page)}
		queue := []int{root}
		for len(queue) > 0 {
			pid := queue[0]
			queue = queue[1:]
			var children []int
			if kids == nil {
				var ok bool
				if children, ok = childrenOfTree(pid, tree); !ok {
					kids, stats = scanProcs()
				}
			}
			if kids != nil {
				children = kids[pid]
			}
			for _, c := range children {
				cs, ok := stats[c]
				if !ok {
					var err error
					if cs, err = spawn.ReadProcStat(c); err != nil {
						continue // gone meanwhile
					}
				}
				if cs.State == 'Z' || cs.State == 'X' || cs.PPid != pid {
					continue
				}
				tree = append(tree, usage(c, cs, page))
				queue = append(queue, c)
			}
		}
		out[root] = tree
	}
	return out
}

func usage(pid int, st spawn.ProcStat, page int64) supervisor.ProcUsage {
	return supervisor.ProcUsage{Pid: pid, RSS: st.RSS * page, CPU: time.Duration(st.CPU) * (time.Second / userHZ), Threads: st.Threads}
}

// childrenOfTree is childrenOf, skipping the listing of the threads of a
// process that has one (most programs, and every worker of a pre-fork
// server): its only list is /proc/PID/task/PID/children.
func childrenOfTree(pid int, tree supervisor.TreeUsage) ([]int, bool) {
	for _, u := range tree {
		if u.Pid == pid && u.Threads == 1 {
			return childrenIn("/proc/"+strconv.Itoa(pid)+"/task/"+strconv.Itoa(pid)+"/children", nil)
		}
	}
	return childrenOf(pid)
}

// scanProcs reads every process's stat once: who is whose child.
func scanProcs() (map[int][]int, map[int]spawn.ProcStat) {
	pids := allPids()
	kids := make(map[int][]int)
	stats := make(map[int]spawn.ProcStat, len(pids))
	for _, pid := range pids {
		st, err := spawn.ReadProcStat(pid)
		if err != nil {
			continue
		}
		stats[pid] = st
		kids[st.PPid] = append(kids[st.PPid], pid)
	}
	return kids, stats
}
