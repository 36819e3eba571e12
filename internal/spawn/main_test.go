package spawn

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The test binary is also the shim (Start re-executes /proc/self/exe) and
// the helper child: argv[1] selects the mode, so a child's environment is
// exactly the one under test.
func TestMain(m *testing.M) {
	if IsShim(os.Args) {
		err := ShimMain(os.Args)
		fmt.Fprintf(os.Stderr, "drover: %v\n", err)
		os.Exit(127)
	}
	if len(os.Args) > 2 && os.Args[1] == "__helper" {
		os.Exit(helperMain(os.Args[2:]))
	}
	code := m.Run()
	if helperDir != "" {
		os.RemoveAll(helperDir)
	}
	os.Exit(code)
}

var (
	helperOnce sync.Once
	helperDir  string
	helperBin  string
	helperErr  error
)

// helperPath is a copy of the test binary in a world-readable directory,
// so children that dropped to nobody can still exec it.
func helperPath(t testing.TB) string {
	t.Helper()
	helperOnce.Do(func() {
		self, err := os.Executable()
		if err != nil {
			helperErr = err
			return
		}
		if helperDir, helperErr = os.MkdirTemp("", "drover-spawn-test"); helperErr != nil {
			return
		}
		if helperErr = os.Chmod(helperDir, 0o755); helperErr != nil {
			return
		}
		helperBin = filepath.Join(helperDir, "helper")
		helperErr = copyFile(self, helperBin)
	})
	if helperErr != nil {
		t.Fatalf("helper binary: %v", helperErr)
	}
	return helperBin
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// report is what the "report" helper prints about itself.
type report struct {
	Pid, Ppid, Pgid int
	UID, GID, EUID  int
	Groups          []int
	Umask           string
	Cwd             string
	Env             []string
	Fds             map[string]string // fd number -> "dev:ino" for fds 3..63
	NPROC           [2]uint64
	SigIgn, SigBlk  string
}

func helperMain(args []string) int {
	switch args[0] {
	case "report":
		// Descriptors first, before this process opens any of its own.
		fds := map[string]string{}
		for fd := 3; fd < 64; fd++ {
			var s unix.Stat_t
			if unix.Fstat(fd, &s) == nil {
				// The Go runtime keeps its cgroup CPU quota files open.
				if l, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd)); !strings.HasPrefix(l, "/sys/fs/cgroup/") {
					fds[strconv.Itoa(fd)] = fmt.Sprintf("%d:%d", s.Dev, s.Ino)
				}
			}
		}
		r := report{Pid: os.Getpid(), Ppid: os.Getppid(), UID: os.Getuid(), GID: os.Getgid(),
			EUID: os.Geteuid(), Env: os.Environ(), Fds: fds}
		r.Pgid, _ = unix.Getpgid(0)
		r.Groups, _ = unix.Getgroups()
		r.Cwd, _ = unix.Getwd() // the kernel's path: symlinks resolved
		st := procStatus("self")
		r.Umask, r.SigIgn, r.SigBlk = st["Umask"], st["SigIgn"], st["SigBlk"]
		var lim unix.Rlimit
		_ = unix.Getrlimit(unix.RLIMIT_NPROC, &lim)
		r.NPROC = [2]uint64{lim.Cur, lim.Max}
		_ = json.NewEncoder(os.Stdout).Encode(r)
		if len(args) > 1 && args[1] == "wait" {
			_, _ = io.Copy(io.Discard, os.Stdin)
		}
		return 0
	case "wait":
		_, _ = io.Copy(io.Discard, os.Stdin)
		return 0
	case "orphan":
		// Start a grandchild that lives until its stdin (our stdin) closes,
		// print its pid and exit, orphaning it.
		pid, err := syscall.ForkExec("/bin/cat", []string{"cat"}, &syscall.ProcAttr{Files: []uintptr{0, 2, 2}})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(pid)
		return 0
	case "exec-blocked":
		// Re-exec with SIGUSR1 blocked and SIGHUP ignored: the new process
		// inherits both, and so do its ForkExec children.
		signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
		var set unix.Sigset_t
		set.Val[0] = 1 << (uint(syscall.SIGUSR1) - 1)
		lockAndBlock(&set)
		err := syscall.Exec("/proc/self/exe", []string{"helper", "__helper", "spawn-cat"}, os.Environ())
		fmt.Fprintln(os.Stderr, err)
		return 1
	case "spawn-cat":
		st := procStatus("self")
		fmt.Printf("parent SigIgn=%s SigBlk=%s\n", st["SigIgn"], st["SigBlk"])
		out, err := runCapture(&Spec{Path: "/bin/cat", Argv: []string{"cat", "/proc/self/status"}, Umask: -1})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Print(out)
		return 0
	case "resolve":
		_, err := Resolve(args[1], "", false, "")
		fmt.Println(err)
		return 0
	case "raise":
		minfds, _ := strconv.ParseUint(args[1], 10, 64)
		minprocs, _ := strconv.ParseUint(args[2], 10, 64)
		infos, err := RaiseLimits(minfds, minprocs)
		fmt.Printf("infos=%q\n", infos)
		if err != nil {
			fmt.Printf("err=%v\n", err)
			return 0
		}
		out, err := runCapture(&Spec{Path: "/bin/cat", Argv: []string{"cat", "/proc/self/limits"}, Umask: -1})
		if err != nil {
			fmt.Printf("spawn err=%v\n", err)
			return 0
		}
		fmt.Print(out)
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown helper mode", args)
	return 2
}

func lockAndBlock(set *unix.Sigset_t) {
	// Exec replaces the process from this thread, keeping its mask.
	runtime.LockOSThread()
	_ = unix.PthreadSigmask(unix.SIG_BLOCK, set, nil)
}

// procStatus parses /proc/<pid>/status into key -> value.
func procStatus(pid string) map[string]string {
	b, _ := os.ReadFile("/proc/" + pid + "/status")
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// runCapture starts spec with stdout (and stderr) into a pipe, returns
// the output and reaps the child. For helpers and tests without a Reaper.
func runCapture(spec *Spec) (string, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return "", err
	}
	defer r.Close()
	spec.Stdout, spec.Stderr = w, w
	pid, err := Start(spec)
	w.Close()
	if err != nil {
		if pid > 0 {
			_, _ = waitPid(pid, 10*time.Second)
		}
		return "", err
	}
	_ = r.SetReadDeadline(time.Now().Add(10 * time.Second))
	out, rerr := io.ReadAll(r)
	ws, werr := waitPid(pid, 10*time.Second)
	switch {
	case rerr != nil:
		return string(out), rerr
	case werr != nil:
		return string(out), werr
	case !ws.Exited() || ws.ExitStatus() != 0:
		return string(out), fmt.Errorf("child %d: status %v", pid, ws)
	}
	return string(out), nil
}

// waitPid waits for pid to exit (bounded, via a pidfd) and reaps it; on
// timeout the child is killed and reaped.
func waitPid(pid int, timeout time.Duration) (unix.WaitStatus, error) {
	var ws unix.WaitStatus
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return ws, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			_ = unix.Kill(pid, unix.SIGKILL)
			_, _ = unix.Wait4(pid, &ws, 0, nil)
			return ws, fmt.Errorf("pid %d did not exit within %v", pid, timeout)
		}
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(left/time.Millisecond)+1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return ws, err
		}
		if n > 0 {
			break
		}
	}
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		return ws, err
	}
}

func sysProcAttrAs(u *User) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.UID, Gid: u.GID}}
}
