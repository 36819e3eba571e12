package spawn

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/testenv"
	"golang.org/x/sys/unix"
)

// startReport starts the "report" helper with spec's settings and returns
// what it saw about itself, plus the pid Start returned.
func startReport(t *testing.T, spec *Spec) (report, int) {
	t.Helper()
	bin := helperPath(t)
	if spec.Path == "" {
		spec.Path = bin
		spec.Argv = []string{"helper", "__helper", "report"}
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	spec.Stdout = w
	pid, err := Start(spec)
	w.Close()
	if err != nil {
		if pid > 0 {
			_, _ = waitPid(pid, 10*time.Second)
		}
		t.Fatalf("Start: %v", err)
	}
	_ = r.SetReadDeadline(time.Now().Add(10 * time.Second))
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read report: %v", err)
	}
	ws, err := waitPid(pid, 10*time.Second)
	if err != nil || !ws.Exited() || ws.ExitStatus() != 0 {
		t.Fatalf("helper %d: status %v err %v output %q", pid, ws, err, out)
	}
	var rep report
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("report %q: %v", out, err)
	}
	return rep, pid
}

func envOf(rep report, key string) (string, bool) {
	for _, kv := range rep.Env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v, true
		}
	}
	return "", false
}

func TestStartSamePidGroupAndEnv(t *testing.T) {
	env := NewEnvBase([]string{"PATH=/usr/bin:/bin", "KEEP=1"}).Build(EnvInput{ProcessName: "p", GroupName: "g"})
	rep, pid := startReport(t, &Spec{Env: env, Umask: -1})
	if rep.Pid != pid {
		t.Errorf("child reports pid %d, Start returned %d: the shim did not exec in place", rep.Pid, pid)
	}
	if rep.Pgid != pid {
		t.Errorf("pgid %d, want own pid %d", rep.Pgid, pid)
	}
	if rep.Ppid != os.Getpid() {
		t.Errorf("ppid %d, want %d", rep.Ppid, os.Getpid())
	}
	got := slices.Clone(rep.Env)
	slices.Sort(got)
	if !slices.Equal(got, env) {
		t.Errorf("env\n got %q\nwant %q", got, env)
	}
	wd, _ := unix.Getwd()
	if rep.Cwd != wd {
		t.Errorf("cwd %q, want the daemon's %q", rep.Cwd, wd)
	}
	for fd := range rep.Fds {
		t.Errorf("unexpected fd %s open in the child (report pipe or a leak)", fd)
	}
}

func TestStartUmask(t *testing.T) {
	old := unix.Umask(0o022)
	defer unix.Umask(old)
	rep, _ := startReport(t, &Spec{Umask: 0o027})
	if rep.Umask != "0027" {
		t.Errorf("umask %s, want 0027", rep.Umask)
	}
	rep, _ = startReport(t, &Spec{Umask: -1})
	if rep.Umask != "0022" {
		t.Errorf("inherited umask %s, want 0022", rep.Umask)
	}
}

// limitsLine returns the soft and hard fields of a /proc/<pid>/limits row.
func limitsLine(t *testing.T, limits, name string) (string, string) {
	t.Helper()
	for _, line := range strings.Split(limits, "\n") {
		if strings.HasPrefix(line, name) {
			f := strings.Fields(line[len(name):])
			if len(f) >= 2 {
				return f[0], f[1]
			}
		}
	}
	t.Fatalf("no %q in %q", name, limits)
	return "", ""
}

func TestStartRlimits(t *testing.T) {
	testenv.NeedRoot(t, "raising hard limits needs root")
	out, err := runCapture(&Spec{Path: "/bin/cat", Argv: []string{"cat", "/proc/self/limits"}, Umask: -1,
		Rlimits: []Rlimit{{Resource: unix.RLIMIT_NOFILE, Soft: 300, Hard: 400},
			{Resource: unix.RLIMIT_NPROC, Soft: 5000, Hard: 6000}}})
	if err != nil {
		t.Fatal(err)
	}
	if s, h := limitsLine(t, out, "Max open files"); s != "300" || h != "400" {
		t.Errorf("NOFILE %s/%s, want 300/400", s, h)
	}
	if s, h := limitsLine(t, out, "Max processes"); s != "5000" || h != "6000" {
		t.Errorf("NPROC %s/%s, want 5000/6000", s, h)
	}
	// Hard 0 keeps the current hard limit.
	var cur unix.Rlimit
	_ = unix.Getrlimit(unix.RLIMIT_NOFILE, &cur)
	out, err = runCapture(&Spec{Path: "/bin/cat", Argv: []string{"cat", "/proc/self/limits"}, Umask: -1,
		Rlimits: []Rlimit{{Resource: unix.RLIMIT_NOFILE, Soft: 256}}})
	if err != nil {
		t.Fatal(err)
	}
	if s, h := limitsLine(t, out, "Max open files"); s != "256" || h != strconv.FormatUint(cur.Max, 10) {
		t.Errorf("NOFILE %s/%s, want 256/%d", s, h, cur.Max)
	}
}

func TestStartRlimitError(t *testing.T) {
	pid, err := Start(&Spec{Path: "/bin/true", Argv: []string{"true"}, Umask: -1,
		Rlimits: []Rlimit{{Resource: unix.RLIMIT_NOFILE, Soft: 10, Hard: 5}}})
	var se *Error
	if !errors.As(err, &se) || se.Step != "setrlimit" || !errors.Is(err, unix.EINVAL) {
		t.Fatalf("err %v, want setrlimit EINVAL", err)
	}
	if want := "couldn't set RLIMIT_NOFILE to 10/5: EINVAL"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	if ws, _ := waitPid(pid, 10*time.Second); ws.ExitStatus() != 127 {
		t.Errorf("shim exit %v, want 127", ws)
	}
}

func nobody(t *testing.T) *User {
	t.Helper()
	testenv.NeedRoot(t, "dropping to another user needs root")
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no nobody user: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &User{Name: u.Username, Home: u.HomeDir, UID: uint32(uid), GID: uint32(gid), Groups: []uint32{uint32(gid), 4242}}
}

// worldDir is a t.TempDir subdirectory every user can enter.
func worldDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	for p := d; p != os.TempDir() && p != "/"; p = filepath.Dir(p) {
		_ = os.Chmod(p, 0o755)
	}
	return d
}

func TestStartUserDrop(t *testing.T) {
	u := nobody(t)
	dir := worldDir(t)
	env := NewEnvBase([]string{"HOME=/root", "USER=root", "LOGNAME=root"}).Build(EnvInput{ProcessName: "p", User: u, Directory: dir})
	rep, _ := startReport(t, &Spec{Env: env, User: u, Dir: dir, Umask: -1})
	if rep.UID != int(u.UID) || rep.EUID != int(u.UID) || rep.GID != int(u.GID) {
		t.Errorf("uid/euid/gid %d/%d/%d, want %d/%d/%d", rep.UID, rep.EUID, rep.GID, u.UID, u.UID, u.GID)
	}
	slices.Sort(rep.Groups)
	if want := []int{4242, int(u.GID)}; !slices.Equal(rep.Groups, want) {
		t.Errorf("groups %v, want %v", rep.Groups, want)
	}
	for k, want := range map[string]string{"HOME": u.Home, "USER": "nobody", "LOGNAME": "nobody", "PWD": dir} {
		if v, _ := envOf(rep, k); v != want {
			t.Errorf("%s=%q, want %q", k, v, want)
		}
	}
}

func TestStartChdirAfterDrop(t *testing.T) {
	u := nobody(t)
	private := filepath.Join(worldDir(t), "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	// Root could enter it; nobody cannot: the chdir must come after the drop.
	pid, err := Start(&Spec{Path: helperPath(t), Argv: []string{"helper", "__helper", "report"}, User: u, Dir: private, Umask: -1})
	var se *Error
	if !errors.As(err, &se) || se.Step != "chdir" || !errors.Is(err, unix.EACCES) {
		t.Fatalf("err %v, want chdir EACCES", err)
	}
	_, _ = waitPid(pid, 10*time.Second)
}

func TestStartDirFollowsSymlinkAtEachSpawn(t *testing.T) {
	root := worldDir(t)
	a, b := filepath.Join(root, "release-a"), filepath.Join(root, "release-b")
	for _, d := range []string{a, b} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	current := filepath.Join(root, "current")
	if err := os.Symlink(a, current); err != nil {
		t.Fatal(err)
	}
	spawn := func() report {
		rep, _ := startReport(t, &Spec{Env: NewEnvBase(nil).Build(EnvInput{Directory: current}), Dir: current, Umask: -1})
		return rep
	}
	rep := spawn()
	if rep.Cwd != a {
		t.Errorf("first spawn cwd %q, want %q", rep.Cwd, a)
	}
	if v, _ := envOf(rep, "PWD"); v != current {
		t.Errorf("PWD %q, want the symlink path %q", v, current)
	}
	// Switch the symlink atomically, as a deploy does.
	tmp := filepath.Join(root, "current.tmp")
	if err := os.Symlink(b, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, current); err != nil {
		t.Fatal(err)
	}
	if rep := spawn(); rep.Cwd != b {
		t.Errorf("second spawn cwd %q, want the new target %q", rep.Cwd, b)
	}
}

func TestStartChdirMissingIsSynchronous(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	r, w, _ := os.Pipe()
	defer r.Close()
	pid, err := Start(&Spec{Path: "/bin/true", Argv: []string{"true"}, Dir: dir, Stderr: w, Umask: -1})
	w.Close()
	var se *Error
	if !errors.As(err, &se) || se.Step != "chdir" || !errors.Is(err, unix.ENOENT) {
		t.Fatalf("err %v, want *Error chdir ENOENT", err)
	}
	if want := "couldn't chdir to " + dir + ": ENOENT"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	if pid <= 0 {
		t.Fatalf("pid %d: the failed shim still exists and must be returned", pid)
	}
	_ = r.SetReadDeadline(time.Now().Add(10 * time.Second))
	stderr, _ := io.ReadAll(r)
	if ws, _ := waitPid(pid, 10*time.Second); !ws.Exited() || ws.ExitStatus() != 127 {
		t.Errorf("shim status %v, want exit 127", ws)
	}
	if !strings.Contains(string(stderr), "couldn't chdir to "+dir) {
		t.Errorf("child stderr %q lacks the chdir message", stderr)
	}
}

func TestStartExecError(t *testing.T) {
	f := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	pid, err := Start(&Spec{Path: f, Argv: []string{"mycmd"}, Umask: -1})
	var se *Error
	if !errors.As(err, &se) || se.Step != "exec" || !errors.Is(err, unix.EACCES) {
		t.Fatalf("err %v, want exec EACCES", err)
	}
	if want := "couldn't exec mycmd: EACCES"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	_, _ = waitPid(pid, 10*time.Second)
}

func TestStartInvalidSpec(t *testing.T) {
	r, w, _ := os.Pipe()
	r.Close()
	w.Close()
	for name, s := range map[string]*Spec{
		"nil":         nil,
		"no path":     {Argv: []string{"x"}},
		"no argv":     {Path: "/bin/true"},
		"listen>":     {Path: "/bin/true", Argv: []string{"x"}, ListenFDs: 1},
		"names":       {Path: "/bin/true", Argv: []string{"x"}, ListenNames: []string{"a"}},
		"nul":         {Path: "/bin/true", Argv: []string{"x\x00y"}},
		"closed file": {Path: "/bin/true", Argv: []string{"x"}, Stdout: w},
		"umask":       {Path: "/bin/true", Argv: []string{"x"}, Umask: 0o1000},
	} {
		pid, err := Start(s)
		if pid != 0 || !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("%s: pid %d err %v, want ErrInvalidSpec", name, pid, err)
		}
	}
}

func TestStartDefaultSignals(t *testing.T) {
	// The helper blocks SIGUSR1 and ignores SIGHUP/SIGPIPE, re-execs
	// itself (so the Go runtime starts with them), then spawns cat through
	// the shim; cat's own /proc status shows what a target inherits.
	out, err := runCapture(&Spec{Path: helperPath(t), Argv: []string{"helper", "__helper", "exec-blocked"}, Umask: -1})
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	first, rest, _ := strings.Cut(out, "\n")
	if !strings.Contains(first, "SigIgn=0000000000000001") || !strings.Contains(first, "SigBlk=0000000000000200") {
		t.Fatalf("setup did not take: %q", first)
	}
	st := map[string]string{}
	for _, line := range strings.Split(rest, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			st[k] = strings.TrimSpace(v)
		}
	}
	if st["SigIgn"] != "0000000000000000" || st["SigBlk"] != "0000000000000000" {
		t.Errorf("target SigIgn=%s SigBlk=%s, want both empty", st["SigIgn"], st["SigBlk"])
	}
}

// twoExtraFiles are a temp file (standing for a listening socket) and the
// read end of a pipe, closed at the test's end.
func twoExtraFiles(t *testing.T) (ln, r1 *os.File) {
	t.Helper()
	r1, w1, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r1.Close(); w1.Close() })
	if ln, err = os.CreateTemp(t.TempDir(), "sock"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, r1
}

func TestStartExtraFilesAndListenPID(t *testing.T) {
	ln, r1 := twoExtraFiles(t)
	// A descriptor the daemon inherited without CLOEXEC must not leak.
	leak, err := unix.Dup(int(r1.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(leak)
	env := []string{"LISTEN_PID=1", "LISTEN_FDS=9", "OTHER=x"}
	rep, pid := startReport(t, &Spec{Env: env, ExtraFiles: []*os.File{ln, r1}, ListenFDs: 2,
		ListenNames: []string{"http", "probe"}, Umask: -1})
	for k, want := range map[string]string{"LISTEN_PID": strconv.Itoa(pid), "LISTEN_FDS": "2",
		"LISTEN_FDNAMES": "http:probe", "OTHER": "x"} {
		if v, _ := envOf(rep, k); v != want {
			t.Errorf("%s=%q, want %q", k, v, want)
		}
	}
	checkChildFds(t, rep, map[string]*os.File{"3": ln, "4": r1}, fmt.Sprintf("(report pipe and the leak %d must be closed)", leak))
}

// checkChildFds: the child reported exactly want's descriptors above 2,
// each the file given at its number; why says what else would be wrong.
func checkChildFds(t *testing.T, rep report, want map[string]*os.File, why string) {
	t.Helper()
	for fd, f := range want {
		var st unix.Stat_t
		_ = unix.Fstat(int(f.Fd()), &st)
		if id := strconv.FormatUint(st.Dev, 10) + ":" + strconv.FormatUint(st.Ino, 10); rep.Fds[fd] != id {
			t.Errorf("fd %s is %q, want %q", fd, rep.Fds[fd], id)
		}
	}
	if len(rep.Fds) != len(want) {
		t.Errorf("child fds %v, want only %d %s", rep.Fds, len(want), why)
	}
}

func TestStartWithoutListenKeepsEnv(t *testing.T) {
	rep, _ := startReport(t, &Spec{Env: []string{"A=1"}, Umask: -1})
	if _, ok := envOf(rep, "LISTEN_PID"); ok {
		t.Errorf("LISTEN_PID set without ListenFDs")
	}
	if len(rep.Env) != 1 {
		t.Errorf("env %q, want exactly A=1", rep.Env)
	}
}

func TestAwaitExecTimeout(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	err := awaitExec(p[0], 20*time.Millisecond)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
}

func TestSignal(t *testing.T) {
	if err := Signal(0, unix.SIGTERM, true); !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("pid 0: %v", err)
	}
	if err := Signal(1, unix.SIGTERM, false); !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("pid 1: %v", err)
	}
	in, w, _ := os.Pipe()
	defer w.Close()
	pid, err := Start(&Spec{Path: helperPath(t), Argv: []string{"helper", "__helper", "wait"}, Stdin: in, Umask: -1})
	in.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := Signal(pid, unix.SIGTERM, false); err != nil {
		t.Fatal(err)
	}
	ws, _ := waitPid(pid, 10*time.Second)
	if !ws.Signaled() || ws.Signal() != unix.SIGTERM {
		t.Errorf("status %v, want killed by SIGTERM", ws)
	}
	if err := Signal(pid, unix.SIGTERM, false); !errors.Is(err, ErrNoProcess) {
		t.Errorf("signal to reaped pid: %v, want ErrNoProcess", err)
	}
	if err := Signal(pid, unix.SIGTERM, true); !errors.Is(err, ErrNoProcess) {
		t.Errorf("group signal to reaped pid: %v, want ErrNoProcess", err)
	}
}

func TestSignalGroup(t *testing.T) {
	// The child's /bin/sh and its sleep share the child's process group.
	// (Not cat: a background job's stdin is /dev/null, so cat could exit
	// before its group is read.)
	out, w, _ := os.Pipe()
	defer out.Close()
	pid, err := Start(&Spec{Path: "/bin/sh", Argv: []string{"sh", "-c", "sleep 1000 & echo $!; wait"}, Stdout: w, Umask: -1})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	_ = out.SetReadDeadline(time.Now().Add(10 * time.Second))
	line := make([]byte, 32)
	n, _ := out.Read(line)
	cat, err := strconv.Atoi(strings.TrimSpace(string(line[:n])))
	if err != nil {
		t.Fatalf("grandchild pid %q", line[:n])
	}
	if pg, _ := unix.Getpgid(cat); pg != pid {
		t.Fatalf("grandchild pgid %d, want %d", pg, pid)
	}
	catfd, err := unix.PidfdOpen(cat, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(catfd)
	if err := Signal(pid, unix.SIGKILL, true); err != nil {
		t.Fatal(err)
	}
	if ws, _ := waitPid(pid, 10*time.Second); !ws.Signaled() {
		t.Errorf("child status %v, want killed", ws)
	}
	// The grandchild died too (it was re-parented, so poll its pidfd).
	if n, _ := unix.Poll([]unix.PollFd{{Fd: int32(catfd), Events: unix.POLLIN}}, 10000); n != 1 {
		t.Errorf("grandchild %d survived a group kill", cat)
	}
}
