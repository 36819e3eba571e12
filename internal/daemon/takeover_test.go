package daemon_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A second daemon on the same config never takes over a live daemon's
// socket, even one that does not answer (frozen here with SIGSTOP): it
// exits with an error before it touches the first one's AUTO logs or
// pidfile, and starts no program.
func TestSecondDaemonDoesNotTakeOverAFrozenOne(t *testing.T) {
	f := start(t, program("web", "say:first"))
	f.waitLine(`success: web entered RUNNING`)
	stdout := f.info("web")["stdout_logfile"].(string)
	waitFile(t, stdout, "first")
	pid := f.cmd.Process.Pid
	f.signalDaemon(syscall.SIGSTOP)
	defer f.signalDaemon(syscall.SIGCONT)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	second := exec.CommandContext(ctx, droverBin, "run", "-c", f.conf)
	var out bytes.Buffer
	second.Stdout, second.Stderr = &out, &out
	err := second.Run()
	if err == nil || ctx.Err() != nil {
		t.Fatalf("second daemon: %v (ctx %v)\n%s", err, ctx.Err(), out.String())
	}
	if !strings.Contains(out.String(), "already listening") {
		t.Fatalf("second daemon's error does not say why:\n%s", out.String())
	}
	if strings.Contains(out.String(), "spawned:") {
		t.Fatalf("second daemon spawned programs:\n%s", out.String())
	}
	if b, err := os.ReadFile(stdout); err != nil || !strings.Contains(string(b), "first") {
		t.Fatalf("the first daemon's AUTO log is gone: %v", err)
	}
	if b, _ := os.ReadFile(f.dir + "/drover.pid"); strings.TrimSpace(string(b)) != strconv.Itoa(pid) {
		t.Fatalf("pidfile holds %q, want the first daemon's %d", b, pid)
	}
	f.signalDaemon(syscall.SIGCONT)
	if in := f.info("web"); in["statename"] != "RUNNING" {
		t.Fatalf("first daemon after the attempt: %v", in)
	}
}

// With no control server there is no socket to find taken: the pidfile's
// lock tells a second daemon that the first one runs, before it cleans up
// the first one's AUTO logs, writes the pidfile or starts a program. Once
// the first one is gone, its pidfile left behind does not block a start.
func TestSecondDaemonWithoutSocketLeavesAutoLogs(t *testing.T) {
	f := launch(t, func(f *fixture) string {
		return fmt.Sprintf("[supervisord]\nnodaemon = true\nlogfile = %[1]s/main.log\npidfile = %[1]s/drover.pid\nchildlogdir = %[1]s\n\n%[2]s",
			f.dir, program("web", "say:first"))
	}, nil)
	f.waitLine(`success: web entered RUNNING`)
	autos, _ := filepath.Glob(filepath.Join(f.dir, "web-stdout---supervisor-*.log"))
	if len(autos) != 1 {
		t.Fatalf("AUTO logs %v", autos)
	}
	waitFile(t, autos[0], "first")
	pid := f.cmd.Process.Pid

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	second := exec.CommandContext(ctx, droverBin, "run", "-c", f.conf)
	var out bytes.Buffer
	second.Stdout, second.Stderr = &out, &out
	err := second.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || ctx.Err() != nil {
		t.Fatalf("second daemon: %v, want exit status 2\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "another daemon (pid "+strconv.Itoa(pid)+") is running on this config") || strings.Contains(out.String(), "spawned:") {
		t.Fatalf("second daemon's output:\n%s", out.String())
	}
	if b, err := os.ReadFile(autos[0]); err != nil || !strings.Contains(string(b), "first") {
		t.Fatalf("the first daemon's AUTO log is gone: %v", err)
	}
	if b, _ := os.ReadFile(f.dir + "/drover.pid"); strings.TrimSpace(string(b)) != strconv.Itoa(pid) {
		t.Fatalf("pidfile holds %q, want the first daemon's %d", b, pid)
	}

	// A pidfile left by a daemon that died (SIGKILL: no clean-up) holds no
	// lock: the next start goes ahead.
	// Every thread's children: the daemon forks from whichever thread
	// runs the spawn (its fd keeper too, in a session of its own).
	var kids []byte
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, task := range tasks {
		b, _ := os.ReadFile(task)
		kids = append(append(kids, b...), ' ')
	}
	syscall.Kill(-pid, syscall.SIGKILL)
	<-f.ended
	f.cmd.Wait()
	for _, k := range strings.Fields(string(kids)) { // its programs, orphaned now
		n, _ := strconv.Atoi(k)
		syscall.Kill(n, syscall.SIGKILL)
	}
	if _, err := os.Stat(f.dir + "/drover.pid"); err != nil {
		t.Fatalf("the killed daemon's pidfile: %v", err)
	}
	g := exec.CommandContext(ctx, droverBin, "run", "-c", f.conf)
	stdout, _ := g.StdoutPipe()
	g.Stderr = g.Stdout
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { g.Process.Signal(syscall.SIGTERM); g.Wait() }()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "success: web entered RUNNING") {
			return
		}
	}
	t.Fatal("no start after a stale pidfile")
}
