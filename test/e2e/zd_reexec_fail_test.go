//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/drover-sh/drover/internal/testenv"
)

// Failed re-execs (issue #15), with unicorn as in TestE2EZeroDowntimeReexec
// (reload = reexec, the new master retires the old one from
// after_worker_ready): a new master that crashes at boot fails `drover
// reload` at once, with its exit status; one whose app raises (its workers
// crash-loop, it never takes over) fails it at ready_timeout and is
// killed with its workers. Both times the old master serves on, under load
// with no failed request, and a later good reload works.
func TestE2EReexecFailures(t *testing.T) {
	bin := testenv.LookPath(t, "unicorn", "apt-get install unicorn")
	s := reexecServers[0]
	port, dir := freePort(t), t.TempDir()
	r := strings.NewReplacer("@BIN@", bin, "@DIR@", dir, "@PORT@", fmt.Sprint(port))
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(r.Replace(text)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, text := range s.files {
		write(name, text)
	}
	section := fmt.Sprintf("\n[program:web]\ncommand = %s\ndirectory = %s\nstartsecs = 1\nautorestart = true\nredirect_stderr = true\nready_timeout = 5\n%s",
		r.Replace(s.command), dir, r.Replace(s.drover))
	d := startDaemon(t, "drover", config{Bare: true, Raw: section})
	d.waitLog(0, `success: web entered RUNNING`)
	old := strings.TrimSpace(d.droverCtl("pid", "web").Stdout)
	oldPid, err := strconv.Atoi(old)
	if err != nil {
		t.Fatalf("pid %q", old)
	}
	t.Cleanup(func() { syscall.Kill(-oldPid, syscall.SIGKILL) })
	l := startLoad(t, fmt.Sprintf("http://127.0.0.1:%d", port), zdTag, 3*time.Minute)
	tag, err := l.settle(10, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if tag != "pid"+old {
		t.Fatalf("serving %s, drover says pid %s", tag, old)
	}
	serving := func(when string) {
		t.Helper()
		if got := strings.TrimSpace(d.droverCtl("pid", "web").Stdout); got != old {
			t.Errorf("%s: drover says pid %s, want the old master %s", when, got, old)
		}
		if st := d.droverCtl("status", "web").Stdout; !strings.Contains(st, "RUNNING") || strings.Contains(st, "handing off") {
			t.Errorf("%s: status %q", when, st)
		}
		// The old master still answers: a fresh answer after this point.
		if _, err := l.waitFor(func(got string) bool { return got == "pid"+old }, l.count("pid"+old)+5, 10*time.Second); err != nil {
			t.Errorf("%s: %v", when, err)
		}
	}

	// 1. The new master crashes at boot (its config raises).
	write("unicorn.rb", "raise \"broken deploy\"\n"+s.files["unicorn.rb"])
	t0 := time.Now()
	out := d.droverCtl("reload", "web")
	crashTook := time.Since(t0)
	msg := strings.TrimSpace(out.Stdout + out.Stderr)
	crashMsg := msg
	if out.Code == 0 {
		t.Fatalf("reload with a crashing new master succeeded: %s", msg)
	}
	if !regexp.MustCompile(`the new master pid \d+ exited before taking over \(exit status 1\); the old master pid ` + old + ` keeps serving`).MatchString(msg) {
		t.Errorf("reload said %q", msg)
	}
	if crashTook >= 2*time.Second {
		t.Errorf("the crash was reported after %v, want < 2s", crashTook)
	}
	serving("after the crash at boot")

	// 2. The new master lives but its app raises: its workers crash-loop.
	write("unicorn.rb", s.files["unicorn.rb"])
	write("config.ru", "raise \"broken app\"\n"+reexecRackApp)
	mark := d.mark()
	t0 = time.Now()
	done := make(chan result, 1)
	go func() { done <- d.droverCtl("reload", "web") }()
	line := d.matchAfter(mark, `reload of 'web': new master pid \d+`)
	succ, _ := strconv.Atoi(regexp.MustCompile(`new master pid (\d+)`).FindStringSubmatch(line)[1])
	pending := d.droverCtl("status", "web").Stdout
	if !strings.Contains(pending, fmt.Sprintf("handing off with pid %d", succ)) {
		t.Errorf("status while the new master %d is pending: %q", succ, pending)
	}
	exited := watchPid(t, succ)
	out = <-done
	raiseTook := time.Since(t0)
	msg = strings.TrimSpace(out.Stdout + out.Stderr)
	if out.Code == 0 {
		t.Fatalf("reload with a failing app succeeded: %s", msg)
	}
	want := fmt.Sprintf("the new master pid %d did not take over within 5s (killed it and its workers); the old master pid %s keeps serving", succ, old)
	if !strings.Contains(msg, want) {
		t.Errorf("reload said %q, want %q", msg, want)
	}
	if raiseTook < 5*time.Second || raiseTook > 7*time.Second {
		t.Errorf("failed after %v, want ready_timeout (5s)", raiseTook)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("the new master %d still runs", succ)
	}
	if masters := unicornMasters(t, oldPid); !slices.Equal(masters, []int{oldPid}) {
		t.Errorf("masters in the program's process group: %v, want only the old one %d", masters, oldPid)
	}
	serving("after the app failure")

	// 3. Fixed: the next reload re-execs as usual.
	write("config.ru", reexecRackApp)
	if out := d.droverCtl("reload", "web"); out.Code != 0 {
		t.Errorf("reload after the fix: %s", out.Stdout+out.Stderr)
	} else if _, err := l.waitNewTag([]string{"pid" + old}, 5, 30*time.Second); err != nil {
		t.Error(err)
	}
	rep := l.report()
	zdReportf(t, "unicorn re-exec failures under load (ready_timeout 5s):\n  crash at boot: failed after %v: %s\n  app raising: failed after %v: %s\n  load: %v",
		crashTook.Round(time.Millisecond), crashMsg, raiseTook.Round(time.Millisecond), msg, rep)
	if rep.Failed != 0 || rep.Retried != 0 {
		t.Errorf("load: %v: %v; re-sent %v", rep, rep.Examples, rep.Resent)
	}
}

// watchPid reports pid's exit (any process) on the returned channel,
// through a pidfd.
func watchPid(t *testing.T, pid int) <-chan struct{} {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	ch := make(chan struct{})
	go func() {
		defer unix.Close(fd)
		for {
			n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int((30 * time.Second).Milliseconds()))
			if err == syscall.EINTR {
				continue
			}
			if n > 0 {
				close(ch)
			}
			return
		}
	}()
	return ch
}

// unicornMasters lists the live processes of process group pgid that call
// themselves a unicorn master.
func unicornMasters(t *testing.T, pgid int) []int {
	t.Helper()
	names, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			continue
		}
		i := strings.LastIndexByte(string(b), ')')
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 3 || f[0] == "Z" || f[2] != strconv.Itoa(pgid) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(n)))
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if strings.Contains(string(cmd), "unicorn master") {
			out = append(out, pid)
		}
	}
	slices.Sort(out)
	return out
}

// procChildren lists pid's children.
func procChildren(t *testing.T, pid int) []int {
	t.Helper()
	files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, w := range strings.Fields(string(b)) {
			c, _ := strconv.Atoi(w)
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// matchAfter waits for a line matching pattern from mark on and returns it.
func (d *daemon) matchAfter(mark int, pattern string) string {
	d.t.Helper()
	d.waitLog(mark, pattern)
	re := regexp.MustCompile(pattern)
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, l := range d.lines[mark:] {
		if re.MatchString(l) {
			return l
		}
	}
	return ""
}
