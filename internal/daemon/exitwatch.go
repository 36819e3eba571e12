package daemon

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drover-sh/drover/internal/spawn"
	"github.com/drover-sh/drover/internal/supervisor"
)

// Children implements supervisor.Host's: pid's live children, from the
// kernel's per-thread children lists (every process is read when those
// are missing).
func (h *osHost) Children(pid int) []int {
	pids, ok := childrenOf(pid)
	if !ok {
		pids = allPids()
	}
	var out []int
	for _, c := range pids {
		st, err := spawn.ReadProcStat(c)
		if err == nil && st.PPid == pid && st.State != 'Z' && st.State != 'X' {
			out = append(out, c)
		}
	}
	return out
}

// newChildSteps are the pauses of NewChild's search: the kernel announces
// no fork to a non-parent without privileges (the proc connector needs
// CAP_NET_ADMIN), and a server forks its new master within milliseconds of
// handling the signal, so the children list is read again at these
// growing intervals (about 25 reads in the first second) until the bound.
func newChildStep(i int) time.Duration {
	return min(time.Millisecond<<min(i, 6), 50*time.Millisecond)
}

// NewChild implements supervisor.Host's: it reads parent's children until
// one not in before that exec'd is there (the pid in pidfileHint wins among
// several; else the most recently started one), or bound passed, or parent
// is gone.
func (h *osHost) NewChild(parent int, before []int, pidfileHint string, bound time.Duration) (int, bool) {
	deadline := time.Now().Add(bound)
	seen := map[int]uint64{} // new children of the previous read, by start time
	for i := 0; ; i++ {
		hint := readPidHint(pidfileHint)
		var cands []procEntry
		now := map[int]uint64{}
		for _, c := range h.Children(parent) {
			if slices.Contains(before, c) {
				continue
			}
			st, err := spawn.ReadProcStat(c)
			if err != nil {
				continue
			}
			now[c] = st.Start
			// Exec'd and seen in two reads, or named by the pidfile. A
			// re-exec'd master execs right after its fork; a child that
			// never does is a copy of the old master (a worker it forked,
			// the child a Go server's runtime forks to probe
			// clone(CLONE_PIDFD) before its first exec), whose exit status
			// goes to the old master: taken for the new master, its exit
			// would fail the reload.
			if execed := st.Execed(); (seen[c] == st.Start && execed) || c == hint {
				cands = append(cands, procEntry{c, st.Start, !execed})
			}
		}
		seen = now
		if pid, ok := chooseSuccessor(cands, hint); ok {
			return pid, true
		}
		if _, err := spawn.ReadProcStat(parent); err != nil || !time.Now().Before(deadline) {
			return 0, false
		}
		time.Sleep(min(newChildStep(i), time.Until(deadline)))
	}
}

// WatchExit implements supervisor.Host's with a pidfd (pidfd_open(2),
// Linux 5.3), which works for any process, not only children: a goroutine
// waits in the runtime's poller until it is readable (the process
// exited), then asks how (exitHow).
func (h *osHost) WatchExit(pid int, exited func(ws syscall.WaitStatus)) (func(), error) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil, fmt.Errorf("watch pid %d: %w", pid, supervisor.ErrNoProcess)
		}
		return nil, fmt.Errorf("watch pid %d: pidfd_open: %w", pid, err)
	}
	f := os.NewFile(uintptr(fd), "pidfd:"+strconv.Itoa(pid))
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("watch pid %d: %w", pid, err)
	}
	go func() {
		defer f.Close()
		ws := supervisor.StatusUnknown
		err := rc.Read(func(fd uintptr) bool {
			n, _ := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 0)
			if n > 0 {
				ws = exitHow(int(fd), pid)
			}
			return n > 0
		})
		if err == nil {
			exited(ws)
		}
	}()
	return func() { f.Close() }, nil
}

// exitHow is the wait status of the process of pidfd (pid): the kernel
// keeps it for a pidfd's holder once the parent reaped it
// (PIDFD_INFO_EXIT, Linux 6.15); before that the zombie's /proc stat has
// it. supervisor.StatusUnknown when neither tells (an older kernel and a
// parent that reaped first).
func exitHow(pidfd, pid int) syscall.WaitStatus {
	if ws, ok := pidfdExit(pidfd); ok {
		return ws
	}
	if ws, ok := zombieStatus(pid); ok {
		return ws
	}
	if ws, ok := pidfdExit(pidfd); ok { // reaped meanwhile
		return ws
	}
	return supervisor.StatusUnknown
}

func pidfdExit(pidfd int) (syscall.WaitStatus, bool) {
	info := unix.PidfdInfo{Mask: unix.PIDFD_INFO_EXIT}
	if err := unix.IoctlPidfdInfo(pidfd, &info); err != nil || info.Mask&unix.PIDFD_INFO_EXIT == 0 {
		return 0, false
	}
	return syscall.WaitStatus(info.Exit_code), true
}

// zombieStatus is the wait status of pid while it is a zombie; false once
// it was reaped (or is not a zombie).
func zombieStatus(pid int) (syscall.WaitStatus, bool) {
	st, err := spawn.ReadProcStat(pid)
	if err != nil || st.State != 'Z' || st.ExitCode < 0 {
		return 0, false
	}
	return syscall.WaitStatus(st.ExitCode), true
}

// KillTree implements supervisor.Host's: SIGSTOP pid (so it forks no
// more), SIGKILL its descendants, then pid, and pid's process group when
// pid leads one (a re-exec'd master shares its old master's group, so the
// group is killed only when it is pid's own).
func (h *osHost) KillTree(pid int) error {
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		return fmt.Errorf("stop pid %d: %w", pid, err)
	}
	var desc []int
	for next := []int{pid}; len(next) > 0; {
		p := next[0]
		next = next[1:]
		for _, c := range h.Children(p) {
			if !slices.Contains(desc, c) {
				desc = append(desc, c)
				next = append(next, c)
			}
		}
	}
	for _, c := range desc {
		_ = syscall.Kill(c, syscall.SIGKILL)
	}
	if st, err := spawn.ReadProcStat(pid); err == nil && st.PGid == pid {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill pid %d: %w", pid, err)
	}
	return nil
}
