package daemon

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drover-sh/drover/internal/spawn"
	"github.com/drover-sh/drover/internal/supervisor"
)

// watchTimeout bounds each wait for a watched exit.
const watchTimeout = 10 * time.Second

func startCmd(t *testing.T, script string) (*exec.Cmd, io.WriteCloser, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	return cmd, in, bufio.NewReader(out)
}

// readPid reads the next line of a startCmd script's output as a pid.
func readPid(t *testing.T, out *bufio.Reader) int {
	t.Helper()
	line, err := out.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func watch(t *testing.T, h *osHost, pid int) <-chan syscall.WaitStatus {
	t.Helper()
	ch := make(chan syscall.WaitStatus, 1)
	if _, err := h.WatchExit(pid, func(ws syscall.WaitStatus) { ch <- ws }); err != nil {
		t.Fatalf("WatchExit(%d): %v", pid, err)
	}
	return ch
}

func waitHow(t *testing.T, ch <-chan syscall.WaitStatus, what string) syscall.WaitStatus {
	t.Helper()
	select {
	case ws := <-ch:
		return ws
	case <-time.After(watchTimeout):
		t.Fatalf("%s: no exit seen in %v", what, watchTimeout)
		return 0
	}
}

// A watched exit is seen without polling, with its status while the
// process is a zombie; a stopped watch says nothing; a gone pid is
// ErrNoProcess.
func TestWatchExit(t *testing.T) {
	h := &osHost{}
	cmd, in, _ := startCmd(t, "read x; exit 7")
	ch := watch(t, h, cmd.Process.Pid)
	ch2 := make(chan syscall.WaitStatus, 1)
	stop, err := h.WatchExit(cmd.Process.Pid, func(ws syscall.WaitStatus) { ch2 <- ws })
	if err != nil {
		t.Fatal(err)
	}
	stop()
	select {
	case ws := <-ch:
		t.Fatalf("exit seen before it happened: %#x", uint32(ws))
	default:
	}
	in.Close()
	// Not reaped yet (cmd.Wait is not called): the zombie tells the status.
	if ws := waitHow(t, ch, "sh"); !ws.Exited() || ws.ExitStatus() != 7 {
		t.Fatalf("wait status %#x, want exit status 7", uint32(ws))
	}
	select {
	case ws := <-ch2:
		t.Fatalf("stopped watch reported %#x", uint32(ws))
	default:
	}
	cmd.Wait()
	if _, err := h.WatchExit(cmd.Process.Pid, func(syscall.WaitStatus) {}); !errors.Is(err, supervisor.ErrNoProcess) {
		t.Fatalf("watch of a reaped pid: %v", err)
	}
}

// NewChild finds the child forked after the snapshot; KillTree kills a
// process and its descendants.
func TestNewChildAndKillTree(t *testing.T) {
	h := &osHost{}
	cmd, in, out := startCmd(t, "sleep 30 & echo forked; read x; sleep 30 & sleep 30 & wait")
	sh := cmd.Process.Pid
	if _, err := out.ReadString('\n'); err != nil { // the first sleep exists
		t.Fatal(err)
	}
	before := h.Children(sh)
	if len(before) != 1 {
		t.Fatalf("children before: %v", before)
	}
	if pid, ok := h.NewChild(sh, before, "", 50*time.Millisecond); ok {
		t.Fatalf("a new child %d before any fork", pid)
	}
	if _, err := in.Write([]byte("\n")); err != nil {
		t.Fatal(err)
	}
	pid, ok := h.NewChild(sh, before, "", watchTimeout)
	if !ok || slices.Contains(before, pid) {
		t.Fatalf("NewChild: %d %v (before %v)", pid, ok, before)
	}
	kids := h.Children(sh)
	exits := []<-chan syscall.WaitStatus{watch(t, h, sh)}
	for _, k := range kids {
		exits = append(exits, watch(t, h, k))
	}
	if err := h.KillTree(sh); err != nil {
		t.Fatal(err)
	}
	for i, ch := range exits {
		waitHow(t, ch, "process "+strconv.Itoa(i))
	}
}

// A child that never execs (a copy of its parent: a worker, Go's clone
// probe) is no new master, unless the pidfile names it; one that execs is.
func TestNewChildSkipsForkWithoutExec(t *testing.T) {
	h := &osHost{}
	// The subshell is a fork of sh that runs only builtins: no exec. fd 3
	// carries the test's pipe to it (a job's own stdin is /dev/null).
	cmd, in, out := startCmd(t, `exec 3<&0; (read x <&3) & echo $!; wait; sleep 30 & echo $!; wait`)
	sh := cmd.Process.Pid
	fork := readPid(t, out)
	if st, err := spawn.ReadProcStat(fork); err != nil || st.Execed() {
		t.Fatalf("the subshell %d: %+v %v, want forked without exec", fork, st, err)
	}
	if pid, ok := h.NewChild(sh, nil, "", 200*time.Millisecond); ok {
		t.Fatalf("NewChild took %d (the subshell is %d), which never exec'd", pid, fork)
	}
	hint := filepath.Join(t.TempDir(), "pid")
	if err := os.WriteFile(hint, []byte(strconv.Itoa(fork)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if pid, ok := h.NewChild(sh, nil, hint, watchTimeout); !ok || pid != fork {
		t.Fatalf("NewChild with the pidfile naming %d: %d %v", fork, pid, ok)
	}
	if _, err := in.Write([]byte("\n")); err != nil { // the subshell ends; sh starts sleep
		t.Fatal(err)
	}
	sleep := readPid(t, out)
	if pid, ok := h.NewChild(sh, nil, "", watchTimeout); !ok || pid != sleep {
		t.Fatalf("NewChild: %d %v, want the exec'd sleep %d", pid, ok, sleep)
	}
}

// The status of a process its own parent reaped at once is still told
// (PIDFD_INFO_EXIT, Linux 6.15; the zombie's stat before).
func TestWatchExitOfGrandchild(t *testing.T) {
	h := &osHost{}
	// fd 3 carries the test's pipe to the background job: a job's own
	// stdin is /dev/null, where read would end at once.
	_, in, out := startCmd(t, `exec 3<&0; sh -c "read x; exit 5" <&3 & echo $!; wait; read y`)
	ch := watch(t, h, readPid(t, out))
	in.Write([]byte("\n"))
	ws := waitHow(t, ch, "grandchild")
	var u unix.Utsname
	unix.Uname(&u)
	t.Logf("kernel %s: wait status %#x", unix.ByteSliceToString(u.Release[:]), uint32(ws))
	if (!ws.Exited() || ws.ExitStatus() != 5) && !kernelBefore(unix.ByteSliceToString(u.Release[:]), 6, 15) {
		t.Fatalf("wait status %#x, want exit status 5", uint32(ws))
	}
}

// kernelBefore reports whether release (uname -r) is older than major.minor.
func kernelBefore(release string, major, minor int) bool {
	var a, b int
	fmt.Sscanf(release, "%d.%d", &a, &b)
	return a < major || (a == major && b < minor)
}

// zombieStatus reads a zombie's wait status from /proc (the older kernels'
// path, which a kernel with PIDFD_INFO_EXIT never takes in WatchExit), and
// nothing once it was reaped.
func TestZombieStatus(t *testing.T) {
	cmd, in, _ := startCmd(t, "read x; exit 7")
	pid := cmd.Process.Pid
	if _, ok := zombieStatus(pid); ok {
		t.Fatal("a running process has a zombie status")
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	in.Close()
	// The pidfd turns readable at the exit; the process stays a zombie
	// until cmd.Wait reaps it.
	if n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(watchTimeout.Milliseconds())); n != 1 {
		t.Fatalf("no exit in %v: %v", watchTimeout, err)
	}
	ws, ok := zombieStatus(pid)
	if !ok || !ws.Exited() || ws.ExitStatus() != 7 {
		t.Fatalf("zombie status %#x %v, want exit status 7", uint32(ws), ok)
	}
	cmd.Wait()
	if _, ok := zombieStatus(pid); ok {
		t.Fatal("a reaped process still has a zombie status")
	}
}
