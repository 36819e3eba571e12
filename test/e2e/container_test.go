//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/testenv"
	"golang.org/x/sys/unix"
)

// pid1Child is a program of the PID 1 test: "NAME serve" says it is ready
// on stdout and stderr, says so again on TERM and exits 0, and exits 3 on
// USR1; "NAME fork" starts "NAME orphan" and exits once that one is set
// up; "NAME orphan" waits (pidfd) until its parent has exited, says who
// its parent is now, and exits 7.
func pid1Child(args []string) int {
	name, role := args[0], args[1]
	sigs := make(chan os.Signal, 2)
	switch role {
	case "serve":
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGUSR1)
		fmt.Printf("%s ready\n", name)
		fmt.Fprintf(os.Stderr, "%s err ready\n", name)
		if <-sigs == syscall.SIGUSR1 {
			fmt.Printf("%s exits 3\n", name)
			return 3
		}
		fmt.Printf("%s got TERM\n", name)
		return 0
	case "fork":
		r, w, err := os.Pipe()
		if err != nil {
			return 2
		}
		self, _ := os.Executable()
		cmd := exec.Command(self, childArg, "pid1", name, "orphan")
		cmd.Stdout, cmd.Stderr, cmd.ExtraFiles = os.Stdout, os.Stderr, []*os.File{w}
		if err := cmd.Start(); err != nil {
			return 2
		}
		w.Close()
		r.Read(make([]byte, 1)) // EOF once the orphan watches this process
		fmt.Printf("%s forked %d and exits\n", name, cmd.Process.Pid)
		return 0
	case "orphan":
		fd, err := unix.PidfdOpen(os.Getppid(), 0)
		if err != nil {
			return 2
		}
		os.NewFile(3, "ready").Close()
		unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, -1)
		fmt.Printf("%s orphan %d now a child of %d\n", name, os.Getpid(), os.Getppid())
		return 7
	}
	return 2
}

// pid1Run is drover run as PID 1 of a new pid namespace (unshare).
type pid1Run struct {
	t        *testing.T
	cmd      *exec.Cmd
	mu       sync.Mutex
	out, err []string
	grow     chan struct{}
	done     chan struct{}
}

func startPID1(t *testing.T, conf string) *pid1Run {
	t.Helper()
	testenv.NeedRoot(t, "unshare --pid needs root")
	unshare := testenv.LookPath(t, "unshare", "apt-get install util-linux")
	r := &pid1Run{t: t, grow: make(chan struct{}), done: make(chan struct{})}
	r.cmd = exec.Command(unshare, "--pid", "--fork", "--mount-proc", droverBin, "run", "-c", conf)
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go r.read(stdout, &r.out, &wg)
	go r.read(stderr, &r.err, &wg)
	go func() { wg.Wait(); r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			r.cmd.Process.Kill() // unshare; the namespace dies with its PID 1
			if pid := r.pid1(); pid > 0 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			<-r.done
		}
	})
	return r
}

func (r *pid1Run) read(f interface{ Read([]byte) (int, error) }, into *[]string, wg *sync.WaitGroup) {
	defer wg.Done()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		r.mu.Lock()
		*into = append(*into, sc.Text())
		close(r.grow)
		r.grow = make(chan struct{})
		r.mu.Unlock()
	}
}

// wait waits for a stdout line matching re.
func (r *pid1Run) wait(re string) {
	r.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(waitTimeout)
	for {
		r.mu.Lock()
		for _, l := range r.out {
			if rx.MatchString(l) {
				r.mu.Unlock()
				return
			}
		}
		grow := r.grow
		r.mu.Unlock()
		select {
		case <-grow:
		case <-r.done:
			r.t.Fatalf("drover ended before a line matching %q:\n%s", re, r.stdout())
		case <-deadline:
			r.t.Fatalf("no line matching %q within %v:\n%s", re, waitTimeout, r.stdout())
		}
	}
}

func (r *pid1Run) stdout() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.out, "\n")
}

func (r *pid1Run) stderr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.err, "\n")
}

// pid1 is drover's pid outside the namespace: unshare's only child.
func (r *pid1Run) pid1() int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", r.cmd.Process.Pid, r.cmd.Process.Pid))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// exitCode waits for unshare, which exits with drover's status.
func (r *pid1Run) exitCode() int {
	r.t.Helper()
	select {
	case <-r.done:
	case <-time.After(waitTimeout):
		r.t.Fatalf("drover did not exit within %v:\n%s", waitTimeout, r.stdout())
	}
	return r.cmd.ProcessState.ExitCode()
}

// index is the position of the first stdout line containing s, or -1.
func (r *pid1Run) index(s string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, l := range r.out {
		if strings.Contains(l, s) {
			return i
		}
	}
	return -1
}

func pid1Conf(t *testing.T, webExtra string) string {
	dir := t.TempDir()
	prog := func(name, role string, prio int, extra ...string) string {
		return fmt.Sprintf("[program:%s]\ncommand = %s %s %s\npriority = %d\nstartsecs = 0\nstdout_logfile = NONE\nstdout_console = true\nstderr_logfile = NONE\nstderr_console = true\n%s\n\n",
			name, childCmd("pid1"), name, role, prio, strings.Join(extra, "\n"))
	}
	conf := fmt.Sprintf(`[supervisord]
nodaemon = true
logfile = /dev/stdout
logfile_maxbytes = 0
pidfile = %[1]s/drover.pid
childlogdir = %[1]s
user = root

[unix_http_server]
file = %[1]s/drover.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

`, dir) + prog("db", "serve", 1) + prog("forker", "fork", 5, "autorestart = false") +
		prog("web", "serve", 10, webExtra) + prog("worker", "serve", 20)
	path := filepath.Join(dir, "supervisord.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkPID1 checks what PID 1 must do while running: it is pid 1, it has
// handlers for the signals it acts on (the kernel drops signals without a
// handler to a namespace's init), and the orphan the forker left was
// reaped (no zombie below drover).
func (r *pid1Run) checkPID1() {
	r.t.Helper()
	r.wait(`INFO supervisord started with pid 1$`)
	for _, name := range []string{"db", "web", "worker"} {
		r.wait(`^` + name + ` \| ` + name + ` ready$`)
	}
	r.wait(`^forker \| forker orphan \d+ now a child of 1$`)
	r.wait(`INFO reaped unknown pid \d+ \(exit status 7\)$`)
	pid := r.pid1()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		r.t.Fatal(err)
	}
	var caught, ignored uint64
	for l := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "SigCgt:"); ok {
			caught, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
		if v, ok := strings.CutPrefix(l, "SigIgn:"); ok {
			ignored, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR2, syscall.SIGQUIT, syscall.SIGCHLD} {
		if bit := uint64(1) << (sig - 1); caught&bit == 0 || ignored&bit != 0 {
			r.t.Errorf("PID 1 has no handler for %v (SigCgt %x, SigIgn %x)", sig, caught, ignored)
		}
	}
	var zombies []string
	for _, p := range append(descendants(r.cmd.Process.Pid), pid) {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		s := string(st)
		if f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]); len(f) > 0 && f[0] == "Z" {
			zombies = append(zombies, s)
		}
	}
	if len(zombies) > 0 {
		r.t.Errorf("zombies below PID 1: %q", zombies)
	}
}

// checkLines checks stdout: no line twice (logfile=/dev/stdout is written
// once), every program line whole behind its prefix; and stderr: the
// programs' stderr lines, prefixed, and nothing of the main log.
func (r *pid1Run) checkLines() {
	r.t.Helper()
	if os.Getenv("PID1_SHOW") != "" {
		r.t.Logf("stdout:\n%s\nstderr:\n%s", r.stdout(), r.stderr())
	}
	seen := map[string]bool{}
	stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ `)
	prog := regexp.MustCompile(`^(db|forker|web|worker) \| (db|forker|web|worker) `)
	for _, l := range strings.Split(r.stdout(), "\n") {
		if seen[l] {
			r.t.Errorf("stdout has this line twice: %q", l)
		}
		seen[l] = true
		if !stamp.MatchString(l) && !prog.MatchString(l) {
			r.t.Errorf("stdout line neither the main log nor a prefixed program line: %q", l)
		}
	}
	for _, name := range []string{"db", "web", "worker"} {
		if want := name + " | " + name + " err ready"; !strings.Contains(r.stderr(), want) {
			r.t.Errorf("stderr lacks %q:\n%s", want, r.stderr())
		}
	}
	if strings.Contains(r.stderr(), "supervisord started") || strings.Contains(r.stderr(), "WARNING: DATA RACE") {
		r.t.Errorf("stderr:\n%s", r.stderr())
	}
}

// drover as PID 1 of a pid namespace (as in a container): it reaps the
// orphan a program leaves, catches the signals it acts on, stops every
// program in reverse priority order on TERM and exits 0, with the
// programs' lines on stdout behind their names and no line twice.
func TestE2EContainerPID1Term(t *testing.T) {
	r := startPID1(t, pid1Conf(t, ""))
	r.checkPID1()
	if err := syscall.Kill(r.pid1(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := r.exitCode(); code != 0 {
		t.Fatalf("exit status %d, want 0:\n%s", code, r.stdout())
	}
	// The main log says when each stopped; the programs' own lines come
	// through their pipes, whose order between programs is the pump's.
	order := []int{r.index("INFO stopped: worker (exit status 0)"), r.index("INFO stopped: web (exit status 0)"), r.index("INFO stopped: db (exit status 0)")}
	if order[0] < 0 || order[0] > order[1] || order[1] > order[2] {
		t.Fatalf("stop order (worker, web, db at lines %v) is not reverse priority:\n%s", order, r.stdout())
	}
	for _, name := range []string{"worker", "web", "db"} {
		if r.index(name+" | "+name+" got TERM") < 0 {
			t.Errorf("%s's own line about TERM is missing:\n%s", name, r.stdout())
		}
	}
	if r.index("WARN received SIGTERM indicating exit request") < 0 || r.index("INFO exiting") < 0 {
		t.Fatalf("no shutdown lines:\n%s", r.stdout())
	}
	r.checkLines()
}

// drover as PID 1 with exit_daemon_on=exit: when web exits (status 3, not
// restarted), drover stops the others in reverse priority order and exits
// with web's status.
func TestE2EContainerPID1ExitPolicy(t *testing.T) {
	r := startPID1(t, pid1Conf(t, "autorestart = false\nexit_daemon_on = exit"))
	r.checkPID1()
	web := 0
	for _, p := range descendants(r.pid1()) {
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p)); strings.Contains(string(b), "pid1\x00web\x00serve") {
			web = p
		}
	}
	if web == 0 {
		t.Fatal("web's pid not found")
	}
	if err := syscall.Kill(web, syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if code := r.exitCode(); code != 3 {
		t.Fatalf("exit status %d, want web's 3:\n%s", code, r.stdout())
	}
	order := []int{r.index("CRIT exiting: web entered EXITED and has exit_daemon_on=exit"), r.index("INFO stopped: worker (exit status 0)"), r.index("INFO stopped: db (exit status 0)")}
	if order[0] < 0 || order[0] > order[1] || order[1] > order[2] {
		t.Fatalf("policy line, then worker, then db (at %v):\n%s", order, r.stdout())
	}
	r.checkLines()
}
