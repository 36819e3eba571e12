package daemon_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
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
