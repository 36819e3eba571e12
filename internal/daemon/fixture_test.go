package daemon_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
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

	"github.com/drover-sh/drover/internal/daemon"
	"github.com/drover-sh/drover/internal/rpc"
	"github.com/drover-sh/drover/internal/spawn"
	"golang.org/x/sys/unix"
)

// droverBin is the drover binary built once for these tests.
var droverBin string

func TestMain(m *testing.M) {
	if spawn.IsShim(os.Args) { // in-process tests spawn through the test binary
		err := spawn.ShimMain(os.Args)
		fmt.Fprintf(os.Stderr, "drover: %v\n", err)
		os.Exit(127)
	}
	if len(os.Args) > 1 && os.Args[1] == daemon.KeeperArg { // in-process daemons start their fd keeper so
		if err := daemon.KeeperMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "drover:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if mode := os.Getenv("DROVER_TEST_CHILD"); mode != "" {
		os.Exit(childMain(mode))
	}
	if os.Getenv("DROVER_TEST_SUBREAPER") != "" {
		os.Exit(m.Run()) // a re-run of one in-process test: no binary needed
	}
	dir, err := os.MkdirTemp("", "drover-daemon-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	droverBin = filepath.Join(dir, "drover")
	out, err := exec.Command("go", "build", "-o", droverBin, "github.com/drover-sh/drover/cmd/drover").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building drover: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// childMain is the test binary re-run as a supervised program. Modes:
// sleep, exit:N, ignore-term, grandchild:PIDFILE, lines-on-usr1,
// slow-stop:DURATION, live:DURATION, orphan:PIDFILE, wait-usr1:PIDFILE, unicorn:PIDFILE,
// unicorn-manual:PIDFILE, notify-reload, listener:FILE, say:TEXT, count:N. A mode that
// handles signals says so (a line or its pidfile) once its handler is set.
func childMain(mode string) int {
	name, arg, _ := strings.Cut(mode, ":")
	sigs := make(chan os.Signal, 4)
	switch name {
	case "exit":
		n, _ := strconv.Atoi(arg)
		return n
	case "sleep":
		signal.Notify(sigs, syscall.SIGTERM)
		<-sigs
		return 0
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ignoring TERM")
		signal.Notify(sigs, syscall.SIGUSR1) // blocks forever: nothing sends it
		<-sigs
		return 0
	case "grandchild", "orphan":
		self, _ := os.Executable()
		gmode := "sleep"
		if name == "orphan" {
			gmode = "wait-usr1:" + arg // it writes its own pid when ready
		}
		cmd := exec.Command(self)
		cmd.Env = append(os.Environ(), "DROVER_TEST_CHILD="+gmode)
		if err := cmd.Start(); err != nil {
			return 3
		}
		if name == "orphan" {
			return 0 // the grandchild is re-parented to drover (subreaper)
		}
		writePid(arg, cmd.Process.Pid)
		signal.Notify(sigs, syscall.SIGTERM)
		<-sigs
		return 0
	case "wait-usr1":
		// An orphan that lives until the test sends it SIGUSR1.
		signal.Notify(sigs, syscall.SIGUSR1)
		writePid(arg, os.Getpid())
		<-sigs
		return 5
	case "lines-on-usr1":
		signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGTERM)
		fmt.Println("ready")
		for n := 1; ; n++ {
			if s := <-sigs; s == syscall.SIGTERM {
				return 0
			}
			fmt.Printf("line %d\n", n)
		}
	case "unicorn":
		return miniUnicorn(arg, false)
	case "unicorn-manual":
		return miniUnicorn(arg, true)
	case "notify-reload":
		return notifyReload()
	case "listener":
		return eventListener(arg)
	case "live":
		d, _ := time.ParseDuration(arg)
		<-time.After(d) // the behaviour under test: a program that lives d, then exits 0
		return 0
	case "say":
		fmt.Print(arg)
		signal.Notify(sigs, syscall.SIGTERM)
		<-sigs
		return 0
	case "count":
		return countLines(arg)
	case "slow-stop":
		d, _ := time.ParseDuration(arg)
		signal.Notify(sigs, syscall.SIGTERM)
		fmt.Println("handling TERM")
		<-sigs
		<-time.After(d) // the behaviour under test: a program that takes d to stop
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown child mode", mode)
	return 2
}

// miniUnicorn is a master that re-execs itself on USR2, as unicorn does:
// it writes its pid to pidfile once its handlers are set; on USR2 it starts
// a new copy of itself (a child in the same process group) and exits once
// that copy reports, through an inherited pipe, that it wrote its pid. A
// copy that fails leaves the old master serving. With manual, the old
// master then waits for QUIT (or TERM) before it exits, as gunicorn's does.
func miniUnicorn(pidfile string, manual bool) int {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR2, syscall.SIGTERM, syscall.SIGQUIT)
	writePid(pidfile, os.Getpid())
	if os.Getenv("DROVER_TEST_UP_FD") == "3" {
		up := os.NewFile(3, "up")
		up.Write([]byte("up"))
		up.Close()
	}
	fmt.Printf("master %d ready\n", os.Getpid())
	self, _ := os.Executable()
	for s := range sigs {
		if s != syscall.SIGUSR2 {
			return 0
		}
		r, w, err := os.Pipe()
		if err != nil {
			continue
		}
		cmd := exec.Command(self)
		cmd.Env = append(os.Environ(), "DROVER_TEST_UP_FD=3")
		cmd.ExtraFiles = []*os.File{w}
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		err = cmd.Start()
		w.Close()
		if err != nil {
			r.Close()
			continue
		}
		msg, _ := io.ReadAll(r) // "up", or EOF if the copy died
		r.Close()
		if string(msg) == "up" {
			for manual && <-sigs == syscall.SIGUSR2 {
			}
			fmt.Printf("old master %d exits, new master %d\n", os.Getpid(), cmd.Process.Pid)
			return 0
		}
	}
	return 0
}

// notifyReload is a server that reloads in place the way puma does with
// sd_notify: READY=1 at start; on USR1 it prints "reloading" and sends
// RELOADING=1, and READY=1 again only on USR2 (the test decides when the
// reload is done).
func notifyReload() int {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGTERM)
	conn, err := net.Dial("unixgram", os.Getenv("NOTIFY_SOCKET"))
	if err != nil {
		fmt.Println("no NOTIFY_SOCKET:", err)
		return 3
	}
	conn.Write([]byte("READY=1"))
	fmt.Println("ready")
	for s := range sigs {
		switch s {
		case syscall.SIGUSR1:
			conn.Write([]byte("RELOADING=1"))
			fmt.Println("reloading")
		case syscall.SIGUSR2:
			conn.Write([]byte("READY=1"))
			fmt.Println("reloaded")
		default:
			return 0
		}
	}
	return 0
}

// writePid writes pid whole (temp file + rename), so a watcher never reads
// half a number.
func writePid(path string, pid int) {
	os.WriteFile(path+".tmp", []byte(strconv.Itoa(pid)), 0o644)
	os.Rename(path+".tmp", path)
}

// fixture is one drover daemon running on a config in a temp dir.
type fixture struct {
	t      *testing.T
	dir    string
	conf   string
	sock   string
	cmd    *exec.Cmd
	client *rpc.Client

	mu    sync.Mutex
	lines []string
	grow  chan struct{} // closed and replaced whenever a line arrives
	ended chan struct{} // closed when the daemon's stdout ends
}

// program returns a [program:name] section running the test binary in mode.
func program(name, mode string, extra ...string) string {
	self, _ := os.Executable()
	s := fmt.Sprintf("[program:%s]\ncommand = %s\nenvironment = DROVER_TEST_CHILD=\"%s\"\n", name, self, mode)
	for _, e := range extra {
		s += e + "\n"
	}
	return s + "\n"
}

func (f *fixture) config(sections string) string {
	return fmt.Sprintf(`[supervisord]
nodaemon = true
logfile = %[1]s/main.log
pidfile = %[1]s/drover.pid
childlogdir = %[1]s
loglevel = debug

[unix_http_server]
file = %[1]s/drover.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

%[2]s`, f.dir, sections)
}

// start runs drover on sections and waits until it serves.
func start(t *testing.T, sections string) *fixture {
	t.Helper()
	return startWith(t, sections, nil)
}

// startWith is start with the daemon's command line behind prefix (e.g.
// prlimit and its options).
func startWith(t *testing.T, sections string, prefix []string) *fixture {
	t.Helper()
	return launch(t, func(f *fixture) string { return f.config(sections) }, prefix)
}

// launch is startWith with the whole config text made by text (which may
// use f.dir); it must serve on f.dir/drover.sock.
func launch(t *testing.T, text func(f *fixture) string, prefix []string) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir(), grow: make(chan struct{}), ended: make(chan struct{})}
	f.conf = filepath.Join(f.dir, "supervisord.conf")
	f.sock = filepath.Join(f.dir, "drover.sock")
	if err := os.WriteFile(f.conf, []byte(text(f)), 0o644); err != nil {
		t.Fatal(err)
	}
	argv := append(append([]string(nil), prefix...), droverBin, "run", "-c", f.conf)
	f.cmd = exec.Command(argv[0], argv[1:]...)
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := f.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	f.cmd.Stderr = f.cmd.Stdout
	if err := f.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go f.read(out)
	t.Cleanup(f.stop)
	f.waitLine(`supervisord started with pid`)
	f.client, err = rpc.NewClientAuth("unix://"+f.sock, rpc.ClientAuth{})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) read(r interface{ Read([]byte) (int, error) }) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f.mu.Lock()
		f.lines = append(f.lines, sc.Text())
		close(f.grow)
		f.grow = make(chan struct{})
		f.mu.Unlock()
	}
	close(f.ended)
}

// waitLine waits for a main-log line matching re and returns it.
func (f *fixture) waitLine(re string) string {
	f.t.Helper()
	return f.waitLineAfter(0, re)
}

// waitLineAfter waits for a line matching re at index >= from.
func (f *fixture) waitLineAfter(from int, re string) string {
	f.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	for i := from; ; {
		f.mu.Lock()
		for ; i < len(f.lines); i++ {
			if rx.MatchString(f.lines[i]) {
				l := f.lines[i]
				f.mu.Unlock()
				return l
			}
		}
		grow := f.grow
		f.mu.Unlock()
		select {
		case <-grow:
		case <-f.ended:
			f.t.Fatalf("daemon exited before a line matching %q; log:\n%s", re, f.log())
		case <-deadline.C:
			f.t.Fatalf("no line matching %q within 15s; log:\n%s", re, f.log())
		}
	}
}

// mark returns the number of lines seen so far, for waitLineAfter.
func (f *fixture) mark() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.lines)
}

func (f *fixture) log() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.lines, "\n")
}

// count returns how many lines so far match re.
func (f *fixture) count(re string) int {
	rx := regexp.MustCompile(re)
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, l := range f.lines {
		if rx.MatchString(l) {
			n++
		}
	}
	return n
}

func (f *fixture) call(method string, args ...any) any {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v, err := f.client.Call(ctx, method, args...)
	if err != nil {
		f.t.Fatalf("%s: %v", method, err)
	}
	return v
}

func (f *fixture) info(name string) map[string]any {
	f.t.Helper()
	return f.call("supervisor.getProcessInfo", name).(map[string]any)
}

func (f *fixture) signalDaemon(sig syscall.Signal) {
	if err := f.cmd.Process.Signal(sig); err != nil {
		f.t.Fatal(err)
	}
}

// stop shuts the daemon down (TERM) and waits; a daemon that does not exit
// within the deadline is killed with its process group.
func (f *fixture) stop() {
	if f.client != nil {
		f.client.Close()
	}
	f.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-f.ended:
	case <-time.After(20 * time.Second):
		syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
		f.t.Errorf("daemon did not exit on SIGTERM within 20s")
	}
	f.cmd.Wait()
}

// waitExit waits until pid (not our child) has exited, via a pidfd.
func waitExit(t *testing.T, pid int, timeout time.Duration) bool {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err == unix.ESRCH {
		return true
	}
	if err != nil {
		t.Fatalf("pidfd_open %d: %v", pid, err)
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int(timeout/time.Millisecond))
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0
	}
}

// waitFile waits until path exists and contains substr, woken by inotify on
// its directory (no polling).
func waitFile(t *testing.T, path, substr string) {
	t.Helper()
	waitFileFunc(t, path, "contains "+strconv.Quote(substr), func(b []byte) bool {
		return strings.Contains(string(b), substr)
	})
}

// waitFileFunc waits until path exists and ok accepts its content (what
// describes ok for the failure message), woken by inotify on its directory.
func waitFileFunc(t *testing.T, path, what string, ok func([]byte) bool) {
	t.Helper()
	in, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(in)
	if _, err := unix.InotifyAddWatch(in, filepath.Dir(path), unix.IN_CREATE|unix.IN_MODIFY|unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	buf := make([]byte, 4096)
	for {
		if b, err := os.ReadFile(path); err == nil && ok(b) {
			return
		}
		left := time.Until(deadline)
		if left <= 0 {
			b, _ := os.ReadFile(path)
			t.Fatalf("%s never %s within 15s; it has %q", path, what, b)
		}
		fds := []unix.PollFd{{Fd: int32(in), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, int(left/time.Millisecond)+1); err != nil && err != unix.EINTR {
			t.Fatal(err)
		}
		for {
			if _, err := unix.Read(in, buf); err != nil {
				break
			}
		}
	}
}
