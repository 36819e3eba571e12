//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
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

	"github.com/drover-sh/drover/internal/testenv"
)

const (
	supervisordPath   = "/usr/bin/supervisord"
	supervisorctlPath = "/usr/bin/supervisorctl"
	// waitTimeout bounds every wait for a daemon event.
	waitTimeout = 20 * time.Second
)

// droverBin is the drover binary built once for the suite (with -race
// when the suite itself runs with -race), or $DROVER_E2E_BIN.
var droverBin string

// childArg as os.Args[1] makes the test binary a supervised program.
const childArg = "e2e-child"

func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == childArg {
		os.Exit(childMain(os.Args[2]))
	}
	dir, err := os.MkdirTemp("", "drover-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	droverBin = filepath.Join(dir, "drover")
	if bin := os.Getenv("DROVER_E2E_BIN"); bin != "" {
		// A prebuilt binary (e.g. of another revision) instead of the tree's.
		droverBin = bin
		code := m.Run()
		os.RemoveAll(dir)
		os.Exit(code)
	}
	args := []string{"build", "-o", droverBin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "github.com/drover-sh/drover/cmd/drover")
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building drover: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// needPeers ends the test (testenv: a failure under CI, a skip otherwise)
// when Debian's supervisor package or python3 is missing.
func needPeers(t *testing.T) {
	t.Helper()
	testenv.NeedFile(t, supervisordPath, "apt-get install supervisor")
	testenv.NeedFile(t, supervisorctlPath, "apt-get install supervisor")
	testenv.LookPath(t, "python3", "apt-get install python3")
}

// daemon is one running supervisord or drover on its own copy of the config.
type daemon struct {
	t    *testing.T
	kind string // "supervisord" or "drover"
	dir  string // holds the config, socket, logs
	conf string
	port int // the [inet_http_server] port, 0 for none
	cmd  *exec.Cmd
	done chan struct{} // closed when the daemon has exited

	mu      sync.Mutex
	lines   []string      // every output line so far
	changed chan struct{} // closed and replaced on each new line or EOF
	eof     bool
}

// startDaemon writes cfg into a fresh directory and starts kind on it in
// the foreground. The daemon and every process it spawned are killed in
// t.Cleanup.
func startDaemon(t *testing.T, kind string, cfg config) *daemon {
	t.Helper()
	dir := t.TempDir()
	d := &daemon{t: t, kind: kind, dir: dir, conf: filepath.Join(dir, "supervisord.conf"),
		done: make(chan struct{}), changed: make(chan struct{}), port: cfg.InetPort}
	d.writeConfig(cfg)
	switch kind {
	case "supervisord":
		d.cmd = exec.Command(supervisordPath, "-n", "-c", d.conf)
	case "drover":
		args := append(slices.Clone(cfg.Prefix), droverBin, "run", "-n", "-c", d.conf)
		d.cmd = exec.Command(args[0], args[1:]...)
	default:
		t.Fatalf("unknown daemon kind %q", kind)
	}
	d.cmd.Dir = dir
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	d.cmd.Stdout, d.cmd.Stderr = w, w
	// Own process group: a ^C of the test run does not hit it first.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		r.Close()
		w.Close()
		t.Fatalf("start %s: %v", kind, err)
	}
	w.Close()
	go d.read(r)
	go func() { d.cmd.Wait(); close(d.done) }()
	t.Cleanup(d.kill)
	return d
}

// read collects the daemon's output lines and wakes waiters.
func (d *daemon) read(r *os.File) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		d.mu.Lock()
		d.lines = append(d.lines, sc.Text())
		close(d.changed)
		d.changed = make(chan struct{})
		d.mu.Unlock()
	}
	d.mu.Lock()
	d.eof = true
	close(d.changed)
	d.changed = make(chan struct{})
	d.mu.Unlock()
}

// mark is the number of output lines so far: waitLog(mark, ...) looks
// only at lines written after it.
func (d *daemon) mark() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.lines)
}

// waitLog waits until, among the output lines from index from on, each
// pattern has matched some line; it fails the test at the deadline.
func (d *daemon) waitLog(from int, patterns ...string) {
	d.t.Helper()
	res := make([]*regexp.Regexp, len(patterns))
	for i, p := range patterns {
		res[i] = regexp.MustCompile(p)
	}
	seen := make([]bool, len(res))
	left := len(res)
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	next := from
	for {
		d.mu.Lock()
		lines, eof, changed := d.lines[min(next, len(d.lines)):], d.eof, d.changed
		next = len(d.lines)
		d.mu.Unlock()
		for _, l := range lines {
			for i, re := range res {
				if !seen[i] && re.MatchString(l) {
					seen[i] = true
					left--
				}
			}
		}
		if left == 0 {
			return
		}
		if eof {
			d.t.Fatalf("%s exited before logging %q; output:\n%s", d.kind, d.missing(res, seen), d.output())
		}
		select {
		case <-changed:
		case <-deadline.C:
			d.t.Fatalf("%s: no log line matching %q within %v; output:\n%s", d.kind, d.missing(res, seen), waitTimeout, d.output())
		}
	}
}

func (d *daemon) missing(res []*regexp.Regexp, seen []bool) []string {
	var m []string
	for i, re := range res {
		if !seen[i] {
			m = append(m, re.String())
		}
	}
	return m
}

// output is everything the daemon wrote so far.
func (d *daemon) output() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.lines, "\n")
}

// waitExit waits for the daemon to exit on its own.
func (d *daemon) waitExit() {
	d.t.Helper()
	select {
	case <-d.done:
	case <-time.After(waitTimeout):
		d.t.Fatalf("%s did not exit within %v", d.kind, waitTimeout)
	}
}

// kill stops the daemon (TERM, then KILL) and kills every process it
// left behind; it also fails the test on a data race report.
func (d *daemon) kill() {
	pids := descendants(d.cmd.Process.Pid)
	select {
	case <-d.done:
	default:
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(15 * time.Second):
			d.cmd.Process.Kill()
			<-d.done
		}
	}
	// Children of a daemon that died or was killed are orphans now.
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGKILL)
	}
	if strings.Contains(d.output(), "WARNING: DATA RACE") {
		d.t.Errorf("%s reported a data race:\n%s", d.kind, d.output())
	}
}

// descendants lists the pids below pid, from /proc.
func descendants(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at the last ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		parent[p] = pp
	}
	var out []int
	for p := range parent {
		for q := parent[p]; q > 1; q = parent[q] {
			if q == pid {
				out = append(out, p)
				break
			}
		}
	}
	return out
}
