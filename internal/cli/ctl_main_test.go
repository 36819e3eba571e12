package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
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

	"golang.org/x/sys/unix"
)

// The client tests run against a real daemon: the drover binary, built
// once per test run, started as `drover run -n` on a config in
// t.TempDir(). Its programs are this test binary re-run in a child mode
// (DROVER_CTL_TEST_CHILD), the os/exec helper-process pattern.

const childEnv = "DROVER_CTL_TEST_CHILD"

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(ctlChildMain(mode))
	}
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// ctlChildMain is a supervised program. Modes: sleep (until SIGTERM),
// echo:TEXT (TEXT on stdout, "err:TEXT" on stderr, then sleep), cat
// (answers each stdin line with "got: LINE"), exit:N, nousr1 (says
// "ignoring SIGUSR1" once it does, then sleeps).
func ctlChildMain(mode string) int {
	name, arg, _ := strings.Cut(mode, ":")
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	switch name {
	case "exit":
		n, _ := strconv.Atoi(arg)
		return n
	case "echo":
		fmt.Println(arg)
		fmt.Fprintln(os.Stderr, "err:"+arg)
	case "nousr1":
		signal.Ignore(syscall.SIGUSR1)
		fmt.Println("ignoring SIGUSR1")
	case "cat":
		go func() {
			sc := bufio.NewScanner(os.Stdin)
			for sc.Scan() {
				fmt.Println("got: " + sc.Text())
			}
			sigs <- syscall.SIGTERM
		}()
	}
	<-sigs
	return 0
}

// droverBinary builds cmd/drover once and returns its path.
func droverBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "drover-cli-test-")
		if buildErr != nil {
			return
		}
		builtBin = filepath.Join(buildDir, "drover")
		out, err := exec.Command("go", "build", "-o", builtBin, "github.com/drover-sh/drover/cmd/drover").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// program returns a [program:name] section running this test binary in
// mode, plus extra option lines.
// startsecs is 0 unless extra sets it.
func program(name, mode string, extra ...string) string {
	exe, _ := os.Executable()
	startsecs := "startsecs=0\n"
	for _, e := range extra {
		if strings.HasPrefix(e, "startsecs") {
			startsecs = ""
		}
	}
	return fmt.Sprintf("[program:%s]\ncommand=%s\nenvironment=%s=\"%s\"\n%sstopwaitsecs=5\n%s\n",
		name, exe, childEnv, mode, startsecs, strings.Join(extra, "\n"))
}

// testDaemon is one running `drover run -n`.
type testDaemon struct {
	t     testing.TB
	dir   string
	conf  string
	sock  string
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	grow  chan struct{}
	ended chan struct{}
}

// daemonConfig is the config text for sections in dir.
func daemonConfig(dir, serverExtra, sections string) string {
	return fmt.Sprintf(`[supervisord]
logfile=%[1]s/drover.log
pidfile=%[1]s/drover.pid
childlogdir=%[1]s
identifier=ctl-test

[unix_http_server]
file=%[1]s/drover.sock
%[2]s

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://%[1]s/drover.sock

%[3]s`, dir, serverExtra, sections)
}

// startDaemon runs drover on sections and waits until it serves and
// every program in waitRunning logged RUNNING.
func startDaemon(t testing.TB, serverExtra, sections string, waitRunning ...string) *testDaemon {
	t.Helper()
	return startDaemonBinary(t, []string{droverBinary(t), "run"}, serverExtra, sections, waitRunning...)
}

// startDaemonBinary is startDaemon with another daemon command line
// (argv, to which "-n -c CONF" is added), e.g. the real supervisord.
func startDaemonBinary(t testing.TB, argv []string, serverExtra, sections string, waitRunning ...string) *testDaemon {
	t.Helper()
	d := &testDaemon{t: t, dir: t.TempDir(), grow: make(chan struct{}), ended: make(chan struct{})}
	d.conf = filepath.Join(d.dir, "supervisord.conf")
	d.sock = filepath.Join(d.dir, "drover.sock")
	d.writeConfig(serverExtra, sections)
	d.cmd = exec.Command(argv[0], append(argv[1:], "-n", "-c", d.conf)...)
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d.cmd.Stderr = d.cmd.Stdout
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go d.read(out)
	t.Cleanup(d.stop)
	d.waitLine(0, `supervisord started with pid`)
	for _, name := range waitRunning {
		d.waitLine(0, `success: `+regexp.QuoteMeta(name)+` entered RUNNING`)
	}
	return d
}

func (d *testDaemon) writeConfig(serverExtra, sections string) {
	d.t.Helper()
	if err := os.WriteFile(d.conf, []byte(daemonConfig(d.dir, serverExtra, sections)), 0o644); err != nil {
		d.t.Fatal(err)
	}
}

func (d *testDaemon) read(r interface{ Read([]byte) (int, error) }) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		d.mu.Lock()
		d.lines = append(d.lines, sc.Text())
		close(d.grow)
		d.grow = make(chan struct{})
		d.mu.Unlock()
	}
	close(d.ended)
}

// mark is the number of log lines so far, for waitLine.
func (d *testDaemon) mark() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.lines)
}

// waitLine waits for a daemon log line matching re at index >= from.
func (d *testDaemon) waitLine(from int, re string) string {
	d.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for i := from; ; {
		d.mu.Lock()
		for ; i < len(d.lines); i++ {
			if rx.MatchString(d.lines[i]) {
				l := d.lines[i]
				d.mu.Unlock()
				return l
			}
		}
		grow := d.grow
		d.mu.Unlock()
		select {
		case <-grow:
		case <-d.ended:
			d.t.Fatalf("daemon ended before a line matching %q; log:\n%s", re, strings.Join(d.snapshot(), "\n"))
		case <-deadline.C:
			d.t.Fatalf("no daemon line matching %q; log:\n%s", re, strings.Join(d.snapshot(), "\n"))
		}
	}
}

func (d *testDaemon) snapshot() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.lines...)
}

// stop ends the daemon (TERM, then KILL of its process group after a
// deadline) and waits for it.
func (d *testDaemon) stop() {
	if d.cmd.ProcessState != nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.ended:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
	}
	_ = d.cmd.Wait()
}

// waitExit waits for the daemon to exit by itself (after shutdown).
func (d *testDaemon) waitExit() {
	d.t.Helper()
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		d.t.Fatal("daemon did not exit")
	}
}

// runResult is one client run.
type runResult struct {
	out, err string
	code     int
}

// ctlRun runs the client in-process, as `drover ctl ARGS` (supervisorctl's
// command line), with stdin text.
func ctlRun(t testing.TB, stdin string, args ...string) runResult {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := runSupervisorctl(ctx, ctlIO{strings.NewReader(stdin), &out, &errb}, "drover ctl", args)
	return runResult{out.String(), errb.String(), exitOf(t, err)}
}

func exitOf(t testing.TB, err error) int {
	t.Helper()
	var ec ExitCode
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ec):
		return int(ec)
	}
	t.Fatalf("unexpected error %v", err)
	return -1
}

// binRun runs a binary (drover, a supervisorctl symlink, or the real
// supervisorctl) with args and stdin.
func binRun(t testing.TB, stdin, bin string, args ...string) runResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return runResult{out.String(), errb.String(), code}
}

// expect checks a run's exit status and that its stdout matches re.
func expect(t testing.TB, r runResult, code int, re string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.out, r.err)
	}
	if !regexp.MustCompile(re).MatchString(r.out) {
		t.Errorf("stdout does not match %q:\n%s\nstderr:\n%s", re, r.out, r.err)
	}
}

// closedPort returns a 127.0.0.1 address nothing listens on.
func closedPort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// waitLog waits (inotify, with a deadline) until the AUTO log file of
// program name's channel contains want: a program's output reaches its
// log after the daemon reports it RUNNING.
func (d *testDaemon) waitLog(name, channel, want string) {
	d.t.Helper()
	matches, _ := filepath.Glob(filepath.Join(d.dir, name+"-"+channel+"---*.log"))
	if len(matches) != 1 {
		d.t.Fatalf("log files of %s %s: %v", name, channel, matches)
	}
	path := matches[0]
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		d.t.Fatal(err)
	}
	in := os.NewFile(uintptr(fd), "inotify")
	defer in.Close()
	if _, err := unix.InotifyAddWatch(fd, path, unix.IN_MODIFY); err != nil {
		d.t.Fatal(err)
	}
	_ = in.SetReadDeadline(time.Now().Add(20 * time.Second))
	buf := make([]byte, 4096)
	for {
		if b, _ := os.ReadFile(path); strings.Contains(string(b), want) {
			return
		}
		if _, err := in.Read(buf); err != nil {
			d.t.Fatalf("%s never contained %q: %v", path, want, err)
		}
	}
}
