//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/testenv"
)

// reload = signal with puma's phased restart (issue #15): USR1 to a puma
// in cluster mode (workers, no preload) replaces its workers one by one;
// `drover reload` returns only once every worker present before the signal
// is gone and the server answers its probe again, under load with no
// failed request. A signal the server ignores (WINCH) fails the reload at
// ready_timeout, naming the workers left.
func TestE2EReloadSignalPumaPhased(t *testing.T) {
	bin := testenv.LookPath(t, "puma", "apt-get install puma")
	dir := t.TempDir()
	port, stuckPort := freePort(t), freePort(t)
	// queue_requests false as in zd_servers_test.go: puma 5.6 closes its
	// keep-alive connections on TERM (here: to each replaced worker).
	for name, text := range map[string]string{"config.ru": reexecRackApp, "puma.rb": "queue_requests false\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	prog := func(name string, port int, extra string) string {
		return fmt.Sprintf("\n[program:%s]\ncommand = %s -C puma.rb -w 2 -t 4:4 -b tcp://127.0.0.1:%d config.ru\ndirectory = %s\n"+
			"startsecs = 1\nredirect_stderr = true\nreload = signal\nready = http://127.0.0.1:%d/\n%s",
			name, bin, port, dir, port, extra)
	}
	d := startDaemon(t, "drover", config{Bare: true, Raw: prog("web", port, "reload_signal = USR1\nready_timeout = 60\n") +
		prog("stuck", stuckPort, "reload_signal = WINCH\nready_timeout = 5\n")})
	d.waitLog(0, `success: web entered RUNNING`, `success: stuck entered RUNNING`)
	pidOf := func(name string) int {
		t.Helper()
		pid, err := strconv.Atoi(strings.TrimSpace(d.droverCtl("pid", name).Stdout))
		if err != nil {
			t.Fatalf("pid of %s: %v", name, err)
		}
		t.Cleanup(func() { syscall.Kill(-pid, syscall.SIGKILL) })
		return pid
	}
	master, stuck := pidOf("web"), pidOf("stuck")
	// The workers are up once both answered; the master forks them after
	// it started listening.
	workersOf := func(pid int) []int {
		t.Helper()
		w := procChildren(t, pid)
		if len(w) != 2 {
			t.Fatalf("pid %d has children %v, want its 2 workers", pid, w)
		}
		return w
	}
	l := startLoad(t, fmt.Sprintf("http://127.0.0.1:%d", port), zdTag, 3*time.Minute)
	if _, err := l.settle(20, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	steady := time.Now()
	const reloads = 3
	var took []time.Duration
	var stall []string
	for i := range reloads {
		if i == 0 {
			// the steady window for the stall bound
			if _, err := l.waitFor(func(string) bool { return true }, l.count("pid"+strconv.Itoa(master))+60, 30*time.Second); err != nil {
				t.Fatal(err)
			}
		}
		before := workersOf(master)
		t0 := time.Now()
		out := d.droverCtl("reload", "web")
		t1 := time.Now()
		took = append(took, t1.Sub(t0))
		if out.Code != 0 {
			t.Fatalf("reload %d: %s", i+1, out.Stdout+out.Stderr)
		}
		after := procChildren(t, master)
		for _, w := range before {
			if slices.Contains(after, w) {
				t.Errorf("reload %d returned with worker %d of before the signal still there (before %v, after %v)", i+1, w, before, after)
			}
		}
		if len(after) == 0 {
			t.Errorf("reload %d: no worker after it", i+1)
		}
		stall = append(stall, l.checkStall(t, fmt.Sprintf("reload %d", i+1), steady, t0, t1))
		if got := strings.TrimSpace(d.droverCtl("pid", "web").Stdout); got != strconv.Itoa(master) {
			t.Errorf("reload %d: the master changed: %s", i+1, got)
		}
		steady = t1
		if _, err := l.waitFor(func(string) bool { return true }, l.count("pid"+strconv.Itoa(master))+60, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	rep := l.report()

	before := workersOf(stuck)
	t0 := time.Now()
	out := d.droverCtl("reload", "stuck")
	stuckTook := time.Since(t0)
	msg := strings.TrimSpace(out.Stdout + out.Stderr)
	want := fmt.Sprintf("2 of the 2 workers present before SIGWINCH were not replaced within 5s (pids %v still run); the master pid %d keeps serving", before, stuck)
	if out.Code == 0 || !strings.Contains(msg, want) {
		t.Errorf("reload of a server ignoring its signal: code %d, %q; want %q", out.Code, msg, want)
	}
	if stuckTook < 5*time.Second || stuckTook > 7*time.Second {
		t.Errorf("failed after %v, want ready_timeout (5s)", stuckTook)
	}
	if st := d.droverCtl("status", "stuck").Stdout; !strings.Contains(st, "RUNNING") {
		t.Errorf("stuck after the failed reload: %s", st)
	}

	zdReportf(t, "puma phased restart (reload = signal, USR1, 2 workers) under load: %d reloads took %v; %v\n  %s\n  WINCH (ignored): failed after %v: %s",
		reloads, took, rep, strings.Join(stall, "\n  "), stuckTook.Round(time.Millisecond), msg)
	if rep.Failed != 0 || rep.Retried != 0 {
		t.Errorf("load: %v: %v; re-sent %v", rep, rep.Examples, rep.Resent)
	}
}
