package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// target is one supervisor under test.
type target struct {
	Name string
	// Argv is the daemon's command line for a config file, in the
	// foreground (it must not fork away: the harness measures its pid).
	Argv func(conf string) []string
	// Ctl is this target's own status command for a config, or nil.
	Ctl func(conf string) []string
	// Reload is the command that reloads program name (the reload
	// measurement), returning once the reload finished; nil: none.
	Reload func(conf, name string) []string
	// ReloadOptions are this target's extra [program:x] lines for the
	// reload measurement's web app on addr (IP:PORT); nil: none.
	ReloadOptions func(addr string) []string
	// Skip, when set, is why the target cannot run at all (shown as n/a).
	Skip string
}

// daemon is one running supervisor in its own temp dir and process group.
type daemon struct {
	T      *target
	Dir    string
	Conf   string
	Log    *mainLog
	Pid    int
	Start  int64 // CLOCK_MONOTONIC just before fork+exec
	out    string
	cmd    *exec.Cmd
	exited chan struct{}
	werr   error
}

// startDaemon follows dir/main.log and starts t on conf. The daemon's
// stdout and stderr go to dir/daemon.out (shown when it fails).
func startDaemon(t *target, dir, conf string) (*daemon, error) {
	return startDaemonEnv(t, dir, conf, nil)
}

// startDaemonEnv is startDaemon with env added to the daemon's environment
// (e.g. GOMAXPROCS=1).
func startDaemonEnv(t *target, dir, conf string, env []string) (*daemon, error) {
	if t.Skip != "" {
		return nil, errors.New(t.Skip)
	}
	lg, err := followMainLog(filepath.Join(dir, "main.log"))
	if err != nil {
		return nil, err
	}
	d := &daemon{T: t, Dir: dir, Conf: conf, Log: lg, out: filepath.Join(dir, "daemon.out"), exited: make(chan struct{})}
	out, err := os.Create(d.out)
	if err != nil {
		lg.Close()
		return nil, fmt.Errorf("daemon output: %w", err)
	}
	defer out.Close()
	argv := t.Argv(conf)
	d.cmd = exec.Command(argv[0], argv[1:]...)
	d.cmd.Dir = dir
	if len(env) > 0 {
		d.cmd.Env = append(os.Environ(), env...)
	}
	d.cmd.Stdout, d.cmd.Stderr = out, out
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	d.Start = mono()
	if err := d.cmd.Start(); err != nil {
		lg.Close()
		return nil, fmt.Errorf("start %s: %w", t.Name, err)
	}
	d.Pid = d.cmd.Process.Pid
	go func() {
		d.werr = d.cmd.Wait() // pidfd-based in Go's os package
		close(d.exited)
	}()
	return d, nil
}

// Exited is closed when the daemon has exited and been reaped.
func (d *daemon) Exited() <-chan struct{} { return d.exited }

// Why explains a daemon failure: its exit status and the last line it
// printed, when it has exited; otherwise err itself.
func (d *daemon) Why(err error) string {
	select {
	case <-d.exited:
	default:
		return shortErr(err)
	}
	msg := fmt.Sprintf("%s exited", d.T.Name)
	if d.werr != nil {
		msg += " (" + d.werr.Error() + ")"
	}
	if last := lastLine(d.out); last != "" {
		msg += ": " + last
	}
	return msg
}

// lastLine returns the last non-empty line of a file, shortened.
func lastLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	last := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			last = s
		}
	}
	if len(last) > 120 {
		last = last[:117] + "..."
	}
	return last
}

// shortErr keeps error text table-sized.
func shortErr(err error) string {
	if err == nil {
		return ""
	}
	s := strings.ReplaceAll(err.Error(), "\n", " ")
	s = strings.ReplaceAll(s, "|", "/")
	if len(s) > 140 {
		s = s[:137] + "..."
	}
	return s
}

// Stop shuts the daemon down: SIGTERM, up to grace for an orderly exit,
// then SIGKILL to its process group. Whatever it left behind (children
// reparented to the harness, which is a subreaper) is killed and reaped.
func (d *daemon) Stop(grace time.Duration) {
	defer d.Log.Close()
	select {
	case <-d.exited:
	default:
		_ = unix.Kill(d.Pid, unix.SIGTERM)
		t := time.NewTimer(grace)
		select {
		case <-d.exited:
		case <-t.C:
		}
		t.Stop()
	}
	_ = unix.Kill(-d.Pid, unix.SIGKILL)
	t := time.NewTimer(10 * time.Second)
	select {
	case <-d.exited:
	case <-t.C:
		fmt.Fprintf(os.Stderr, "droverbench: %s pid %d did not die\n", d.T.Name, d.Pid)
	}
	t.Stop()
	reapOrphans()
}

// reapOrphans kills and reaps every child of the harness left over from a
// daemon: its processes and their groups. Only call it when the harness
// has no child of its own in flight.
func reapOrphans() {
	self := os.Getpid()
	for range 50 {
		kids := childrenOf(self)
		if len(kids) == 0 {
			return
		}
		for pid := range kids {
			_ = unix.Kill(-pid, unix.SIGKILL)
			_ = unix.Kill(pid, unix.SIGKILL)
		}
		for pid := range kids {
			var ws unix.WaitStatus
			_, _ = unix.Wait4(pid, &ws, 0, nil)
		}
	}
	fmt.Fprintln(os.Stderr, "droverbench: orphans keep appearing; giving up")
}
