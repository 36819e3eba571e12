package daemon

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/drover-sh/drover/internal/spawn"
)

// Successor implements supervisor.Host's by scanning /proc for a live
// process whose parent is drover (the subreaper it was re-parented to when
// the old master exited) and whose process group is pgid (fork keeps it).
// The pid in the pidfile hint wins when it qualifies, since a dead master's
// orphaned workers qualify too; otherwise one that exec'd (workers are
// forks that never exec) and the most recently started among those
// (workers are forked before a re-exec). The hint alone
// never decides: the old master may exit before or after the new one wrote
// the file.
func (h *osHost) Successor(pgid int, pidfileHint string) (int, bool) {
	cands := scanChildren(os.Getpid(), pgid)
	return chooseSuccessor(cands, readPidHint(pidfileHint))
}

// procEntry is one candidate: its pid, start time (clock ticks after
// boot, /proc/PID/stat field 22), and whether it is a fork that never
// exec'd.
type procEntry struct {
	pid    int
	start  uint64
	forked bool
}

// scanChildren lists the live (not zombie) children of parent in process
// group pgid. The kernel's per-thread children lists make this a handful of
// reads; without them (CONFIG_PROC_CHILDREN off) every process is read.
func scanChildren(parent, pgid int) []procEntry {
	pids, ok := childrenOf(parent)
	if !ok {
		pids = allPids()
	}
	var out []procEntry
	for _, pid := range pids {
		st, err := spawn.ReadProcStat(pid)
		if err == nil && st.PPid == parent && st.PGid == pgid && st.State != 'Z' && st.State != 'X' {
			out = append(out, procEntry{pid, st.Start, !st.Execed()})
		}
	}
	return out
}

// childrenOf reads /proc/PID/task/*/children (a re-parented child is on the
// list of the thread that adopted it).
func childrenOf(pid int) ([]int, bool) {
	tasks, err := readNames("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil || len(tasks) == 0 {
		return nil, false
	}
	var out []int
	for _, tid := range tasks {
		kids, ok := childrenIn("/proc/"+strconv.Itoa(pid)+"/task/"+tid+"/children", out)
		if !ok {
			return nil, false
		}
		out = kids
	}
	return out, true
}

// childrenIn appends the pids of one thread's children file to out; ok is
// false when there is no such file (CONFIG_PROC_CHILDREN off, or the
// thread ended: the caller scans /proc instead).
func childrenIn(path string, out []int) ([]int, bool) {
	var buf [256]byte
	b, err := spawn.ReadProcFile(path, buf[:0])
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false
		}
		return out, true // the thread ended meanwhile
	}
	for _, f := range strings.Fields(string(b)) {
		if c, err := strconv.Atoi(f); err == nil {
			out = append(out, c)
		}
	}
	return out, true
}

func allPids() []int {
	names, _ := readNames("/proc")
	var out []int
	for _, n := range names {
		if pid, err := strconv.Atoi(n); err == nil && pid > 0 {
			out = append(out, pid)
		}
	}
	return out
}

func readNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}

// chooseSuccessor picks the hinted pid when it is a candidate, else an
// exec'd candidate over a fork that never exec'd, then the most recently
// started (the higher pid on a tie).
func chooseSuccessor(cands []procEntry, hint int) (int, bool) {
	best := -1
	for i, c := range cands {
		if hint > 0 && c.pid == hint {
			return c.pid, true
		}
		if best < 0 || better(c, cands[best]) {
			best = i
		}
	}
	if best < 0 {
		return 0, false
	}
	return cands[best].pid, true
}

func better(c, than procEntry) bool {
	if c.forked != than.forked {
		return !c.forked
	}
	return c.start > than.start || (c.start == than.start && c.pid > than.pid)
}

// readPidHint reads a pidfile; 0 when there is none or it does not hold a
// pid.
func readPidHint(path string) int {
	if path == "" {
		return 0
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// pendingSuccessor returns the new master of a re-exec under way, while
// the old one still runs: the pid in the server's pidfile (unicorn writes
// the new pid there) or in pidfile.2 (gunicorn's until the old master
// exits), when that process is a live child of master in master's process
// group; 0 otherwise.
func pendingSuccessor(master int, pidfile string) int {
	if pidfile == "" || master <= 0 {
		return 0
	}
	ms, err := spawn.ReadProcStat(master)
	if err != nil {
		return 0
	}
	for _, path := range []string{pidfile, pidfile + ".2"} {
		pid := readPidHint(path)
		if pid <= 0 || pid == master {
			continue
		}
		if st, err := spawn.ReadProcStat(pid); err == nil && st.PPid == master && st.PGid == ms.PGid && st.State != 'Z' {
			return pid
		}
	}
	return 0
}
