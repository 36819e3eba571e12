package daemon_test

import (
	"github.com/drover-sh/drover/internal/supervisor"

	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// drover.reloadProcess through the whole daemon with the default strategy
// (restart): the reply comes once the new generation runs; a stopped
// program is NOT_RUNNING; drover.getProcessInfo shows the generation.
func TestReloadProcessAPIRestarts(t *testing.T) {
	f := start(t, program("web", "sleep", "startsecs = 0"))
	f.waitLine(`success: web entered RUNNING`)
	before := f.call("drover.getProcessInfo", "web").(map[string]any)
	if v := f.call("drover.reloadProcess", "web"); v != true {
		t.Fatalf("reload: %v", v)
	}
	after := f.call("drover.getProcessInfo", "web").(map[string]any)
	if after["statename"] != "RUNNING" || after["pid"] == before["pid"] ||
		after["generation"].(int) <= before["generation"].(int) || after["reloading"] != "" {
		t.Fatalf("before %v\nafter %v", before, after)
	}
	f.call("supervisor.stopProcess", "web", true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := f.client.Call(ctx, "drover.reloadProcess", "web")
	var fault *supervisor.Fault
	if !errors.As(err, &fault) || fault.Error() != "NOT_RUNNING: web" {
		t.Fatalf("reload of a stopped program: %v", err)
	}
}

// reload = reexec from the config file, through the API: drover.reloadProcess
// answers once the re-exec'd master is adopted, and supervisorctl's
// signalProcess USR2 is followed too; the program stays RUNNING under one
// spawn.
func TestReloadReexecThroughTheAPI(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "master.pid")
	f := start(t, program("web", "unicorn:"+pidfile, "startsecs = 0", "reload = reexec", "reload_signal = USR2",
		"pidfile = "+pidfile))
	f.waitLine(`success: web entered RUNNING`)
	first := f.info("web")["pid"].(int)
	waitFile(t, pidfile, strconv.Itoa(first))
	if v := f.call("drover.reloadProcess", "web"); v != true {
		t.Fatalf("reload: %v", v)
	}
	f.waitLine(`following re-exec of 'web': pid ` + strconv.Itoa(first) + ` → \d+`)
	in := f.call("drover.getProcessInfo", "web").(map[string]any)
	second := in["pid"].(int)
	if second == first || in["statename"] != "RUNNING" || in["reexecs"] != 1 || in["prev_pid"] != first {
		t.Fatalf("after the reload: %v", in)
	}
	waitFile(t, pidfile, strconv.Itoa(second))
	mark := f.mark()
	f.call("supervisor.signalProcess", "web", "USR2")
	f.waitLineAfter(mark, `following re-exec of 'web': pid `+strconv.Itoa(second)+` → \d+`)
	if in := f.info("web"); in["statename"] != "RUNNING" || in["pid"] == second {
		t.Fatalf("after signal USR2: %v", in)
	}
	if n := f.count(`spawned: 'web'`); n != 1 {
		t.Fatalf("%d spawns", n)
	}
}

// During a reexec reload whose old master waits to be retired (gunicorn
// style), drover.getProcessInfo shows both pids: pid is the old master,
// handoff_pid the new one from the pidfile. Once the old master is told to
// quit, the new one is adopted and the reload answers.
func TestReloadReexecShowsBothPids(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "master.pid")
	f := start(t, program("web", "unicorn-manual:"+pidfile, "startsecs = 0", "reload = reexec", "reload_signal = USR2",
		"pidfile = "+pidfile))
	f.waitLine(`success: web entered RUNNING`)
	first := f.info("web")["pid"].(int)
	waitFile(t, pidfile, strconv.Itoa(first))
	reloaded := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := f.client.Call(ctx, "drover.reloadProcess", "web")
		reloaded <- err
	}()
	second := waitPidChange(t, pidfile, first)
	// The pidfile names the new master as soon as it writes it; drover
	// takes it once its own search found it (it says so in the log).
	f.waitLine(fmt.Sprintf(`reload of 'web': new master pid %d `, second))
	in := f.call("drover.getProcessInfo", "web").(map[string]any)
	if in["pid"] != first || in["handoff_pid"] != second || in["reloading"] != "reexec" || in["statename"] != "RUNNING" {
		t.Fatalf("during the hand-off: %v", in)
	}
	select {
	case err := <-reloaded:
		t.Fatalf("the reload answered before the old master left: %v", err)
	default:
	}
	if err := syscall.Kill(first, syscall.SIGQUIT); err != nil {
		t.Fatal(err)
	}
	if err := <-reloaded; err != nil {
		t.Fatalf("reload: %v", err)
	}
	in = f.call("drover.getProcessInfo", "web").(map[string]any)
	if in["pid"] != second || in["handoff_pid"] != 0 || in["reloading"] != "" || in["prev_pid"] != first {
		t.Fatalf("after the hand-off: %v", in)
	}
}

// waitPidChange waits until pidfile holds a pid other than old and returns it.
func waitPidChange(t *testing.T, pidfile string, old int) int {
	t.Helper()
	var pid int
	waitFileFunc(t, pidfile, fmt.Sprintf("holds a pid other than %d", old), func(b []byte) bool {
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		pid = n
		return err == nil && n != old
	})
	return pid
}

// reload = signal with ready = notify waits for the READY=1 that follows
// the reload (RELOADING=1 first), not the one from the start.
func TestReloadSignalWaitsForFreshNotifyReady(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.log")
	f := start(t, program("puma", "notify-reload", "startsecs = 0", "reload = signal", "reload_signal = USR1",
		"ready = notify", "stdout_logfile = "+out))
	f.waitLine(`success: puma entered RUNNING`)
	waitFile(t, out, "ready")
	pid := f.info("puma")["pid"].(int)
	reloaded := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := f.client.Call(ctx, "drover.reloadProcess", "puma")
		reloaded <- err
	}()
	waitFile(t, out, "reloading")
	select {
	case err := <-reloaded:
		t.Fatalf("the reload answered on the old READY=1: %v\n%s", err, f.log())
	default:
	}
	if err := syscall.Kill(pid, syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	if err := <-reloaded; err != nil {
		t.Fatalf("reload: %v", err)
	}
	if in := f.info("puma"); in["pid"] != pid || in["statename"] != "RUNNING" {
		t.Fatalf("%v", in)
	}
}
