package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/logfile"
	"github.com/drover-sh/drover/internal/spawn"
	"github.com/drover-sh/drover/internal/supervisor"
	"golang.org/x/sys/unix"
)

// lineLog records log messages and wakes waiters on each one.
type lineLog struct {
	mu    sync.Mutex
	lines []string
	grow  chan struct{}
}

func (l *lineLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *lineLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *lineLog) WithGroup(string) slog.Handler            { return l }
func (l *lineLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.lines = append(l.lines, r.Message)
	close(l.grow)
	l.grow = make(chan struct{})
	l.mu.Unlock()
	return nil
}

// wait returns the submatches of the first line at index >= *from matching
// re, and moves *from past it.
func (l *lineLog) wait(t *testing.T, from *int, re string) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		for ; *from < len(l.lines); *from++ {
			if m := rx.FindStringSubmatch(l.lines[*from]); m != nil {
				*from++
				l.mu.Unlock()
				return m
			}
		}
		grow := l.grow
		l.mu.Unlock()
		select {
		case <-grow:
		case <-deadline.C:
			l.mu.Lock()
			defer l.mu.Unlock()
			t.Fatalf("no log line matching %q within 15s:\n%s", re, strings.Join(l.lines, "\n"))
		}
	}
}

// A real master that re-execs on USR2 (a miniature unicorn) is followed:
// same process and generation, new pid, still RUNNING, no respawn; a second
// USR2 through signalProcess is followed too. It runs in a child test
// process, which becomes a child subreaper and reaps every child.
func TestFollowsRealReexec(t *testing.T) {
	if !asSubreaper(t) {
		return
	}
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "master.pid")
	self, _ := os.Executable()
	sup, rec := runInProcess(t, fmt.Sprintf("[program:web]\ncommand = %[2]s\nenvironment = DROVER_TEST_CHILD=\"unicorn:%[3]s\"\n"+
		"startsecs = 0\nstdout_logfile = %[1]s/web.log\nredirect_stderr = true\n", dir, self, pidfile),
		func(pc *config.Process) {
			pc.Drover.Reload = config.ReloadReexec // set here until the config parses reload=
			pc.Drover.Pidfile = pidfile
		})
	ctx := context.Background()
	at := 0
	rec.wait(t, &at, `^success: web entered RUNNING`)
	in, _ := sup.ProcessInfo(ctx, "web")
	first, gen := in.Pid, in.Generation
	waitPidfile(t, pidfile, first)

	// drover reload web: USR2, then the reply once the successor is adopted.
	t0 := time.Now()
	if err := sup.ReloadProcess(ctx, "web"); err != nil {
		t.Fatalf("reload: %v", err)
	}
	reloadTook := time.Since(t0)
	m := rec.wait(t, &at, `^following re-exec of 'web': pid (\d+) → (\d+)$`)
	second, _ := strconv.Atoi(m[2])
	if m[1] != strconv.Itoa(first) || second == first {
		t.Fatalf("followed %v, want from %d", m, first)
	}
	lookup := rec.wait(t, &at, `^successor lookup for 'web' took (.+)$`)[1]
	in, _ = sup.ProcessInfo(ctx, "web")
	if in.Pid != second || in.State != supervisor.Running || in.Generation != gen || in.Reexecs != 1 {
		t.Fatalf("after the first re-exec: %+v", in)
	}
	if pgid, _ := syscall.Getpgid(second); pgid != first {
		t.Fatalf("successor's process group %d, want %d", pgid, first)
	}
	waitPidfile(t, pidfile, second)

	// supervisorctl signal USR2 web takes the same path.
	if err := sup.SignalProcess(ctx, "web", syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	m = rec.wait(t, &at, `^following re-exec of 'web': pid (\d+) → (\d+)$`)
	third, _ := strconv.Atoi(m[2])
	if m[1] != strconv.Itoa(second) {
		t.Fatalf("followed %v, want from %d", m, second)
	}
	in, _ = sup.ProcessInfo(ctx, "web")
	if in.Pid != third || in.State != supervisor.Running || in.Reexecs != 2 {
		t.Fatalf("after the second re-exec: %+v", in)
	}
	waitPidfile(t, pidfile, third)

	// The followed master stops like any process and nothing was respawned.
	if err := sup.StopProcess(ctx, "web", true); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, &at, `^stopped: web \(exit status 0\)$`)
	rec.mu.Lock()
	spawns := 0
	for _, l := range rec.lines {
		if strings.HasPrefix(l, "spawned: 'web'") {
			spawns++
		}
	}
	unknown := slices.ContainsFunc(rec.lines, func(l string) bool { return strings.HasPrefix(l, "reaped unknown pid") })
	rec.mu.Unlock()
	if spawns != 1 || unknown {
		t.Fatalf("%d spawns (want 1), unknown reaps %v", spawns, unknown)
	}
	t.Logf("reload (USR2 → successor adopted) took %v; successor lookup after the old master's exit took %s", reloadTook, lookup)
}

// asSubreaper reports whether this is the child test process that may run
// the calling test: the first call re-runs the test binary for just that
// test with DROVER_TEST_SUBREAPER set (it becomes a child subreaper and
// reaps every child, which must not disturb the other tests) and reports
// false.
func asSubreaper(t *testing.T) bool {
	t.Helper()
	if os.Getenv("DROVER_TEST_SUBREAPER") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "DROVER_TEST_SUBREAPER=1")
		out, err := cmd.CombinedOutput()
		t.Logf("child test process:\n%s", out)
		if err != nil {
			t.Fatalf("child test process: %v", err)
		}
		return false
	}
	if err := spawn.BecomeSubreaper(); err != nil {
		t.Skipf("no subreaper: %v", err)
	}
	return true
}

// runInProcess runs a supervisor over the real OS host (spawn shim, reaper,
// log pump) on the [program:x] sections, in this process; prep adjusts each
// process config (drover's options the config does not parse yet).
func runInProcess(t *testing.T, sections string, prep func(*config.Process)) (*supervisor.Supervisor, *lineLog) {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "supervisord.conf")
	if err := os.WriteFile(conf, []byte("[supervisord]\nlogfile = "+dir+"/main.log\n\n"+sections), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(conf, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range cfg.Groups {
		for _, pc := range g.Processes {
			prep(pc)
		}
	}
	rec := &lineLog{grow: make(chan struct{})}
	log := slog.New(rec)
	pump, err := logfile.NewPump(log)
	if err != nil {
		t.Fatal(err)
	}
	host := newOSHost(pump, log)
	sup := supervisor.New(cfg, host.forSupervisor(cfg, nil), log)
	reaper := spawn.NewReaper(64)
	go func() {
		for ex := range reaper.Exits() {
			sup.Exited(ex.Pid, syscall.WaitStatus(ex.Status))
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- sup.Run(ctx) }()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer scancel()
		sup.Shutdown(sctx) // stops every child; returns when Run did (or at the deadline)
		cancel()
		<-runErr
		reaper.Stop()
		sup.Handover(nil)
		host.close()
		pump.Close()
	})
	return sup, rec
}

// waitPidfile waits until path holds pid: the master writes it once its
// signal handlers are set. A watch on the directory wakes the wait.
func waitPidfile(t *testing.T, path string, pid int) {
	t.Helper()
	w, err := newDirWatch(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	deadline := time.Now().Add(15 * time.Second)
	for readPidHint(path) != pid {
		if !w.wait(time.Until(deadline)) {
			t.Fatalf("%s does not hold %d within 15s (it holds %d)", path, pid, readPidHint(path))
		}
	}
}

// dirWatch is an inotify watch on one directory.
type dirWatch struct{ fd int }

func newDirWatch(dir string) (*dirWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, err
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_MODIFY|unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &dirWatch{fd}, nil
}

// wait blocks until something changed in the directory (true) or d passed.
func (w *dirWatch) wait(d time.Duration) bool {
	if d <= 0 {
		return false
	}
	fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, int(d/time.Millisecond)+1)
	if err != nil && err != unix.EINTR {
		return false
	}
	buf := make([]byte, 4096)
	for {
		if _, err := unix.Read(w.fd, buf); err != nil {
			break
		}
	}
	return n > 0 || err == unix.EINTR
}

func (w *dirWatch) close() { unix.Close(w.fd) }
