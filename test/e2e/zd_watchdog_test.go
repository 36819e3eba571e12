//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/spawn"
	"github.com/drover-sh/drover/internal/testenv"
)

// The memory watchdog (issue 15): Debian's puma whose Rack app leaks
// ~5 MB/s in its first generation (a thread appending 5 MB strings to a
// global array every second), under drover with memory_limit a bit above
// its base RSS. Under load, the watchdog must reload it blue/green: its log
// line, the new generation answering, 0 failed requests, the stall bound,
// and the tree's RSS back under the limit.

// watchdogRackApp is zdRackApp with the leak; later generations (a fresh
// deploy of the fixed code, as it were) do not leak, so the RSS after the
// reload can be compared with the limit. ZD_LEAK=0 turns the leak off for
// the calibration run.
const watchdogRackApp = `gen = ENV["DROVER_GENERATION"]
if gen == "1" && ENV["ZD_LEAK"] != "0"
  $leak = []
  Thread.new do
    loop do
      $leak << ("x" * (5 << 20))
      sleep 1
    end
  end
end
run lambda { |env|
  sleep 0.3 if env["PATH_INFO"] == "/slow"
  [200, {"content-type" => "text/plain"}, ["gen=#{gen || "pid#{Process.pid}"}\n"]]
}
`

// watchdogHeadroom is memory_limit above the calibrated base RSS: the
// load's own growth (8 threads' stacks and buffers) stays under it, 10 s
// of the leak do not.
const watchdogHeadroom = 50 << 20

func TestE2EMemoryWatchdogReloadsPuma(t *testing.T) {
	bin := testenv.LookPath(t, "puma", "apt-get install puma")
	dir := t.TempDir()
	for name, text := range map[string]string{"config.ru": watchdogRackApp, "puma.rb": "queue_requests false\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := pumaBaseRSS(t, bin, dir)[0]
	limit := base + watchdogHeadroom
	limitMB := (limit + 1<<20 - 1) >> 20

	port := freePort(t)
	section := fmt.Sprintf("\n[program:web]\ncommand = %s -C puma.rb --bind-to-activated-sockets only -t 8:8 config.ru\nserver = puma\n%s"+
		"memory_limit = %dMB\nmemory_grace = 3s\ndirectory = %s\nstartsecs = 1\nredirect_stderr = true\n",
		bin, strings.ReplaceAll(zdDroverLines, "@PORT@", strconv.Itoa(port)), limitMB, dir)
	d := startDaemon(t, "drover", config{Bare: true, Raw: section})
	d.waitLog(0, `success: web entered RUNNING`)
	spawnedAt := time.Now()
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	l := startLoad(t, url, zdTag, 3*time.Minute)
	first, err := l.settle(10, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	steadyFrom := time.Now()

	mark := d.mark()
	d.waitLog(mark, `memory limit: 'web' process tree RSS \d+ MB > \d+ MB for [0-9.]+s: reloading`)
	d.waitLog(mark, `memory limit: 'web' reloaded`)
	breach := d.submatchAfter(mark, regexp.MustCompile(`memory limit: 'web' process tree RSS (\d+) MB > (\d+) MB for ([0-9.]+s): reloading`))
	opFrom, opTo := logTime(t, breach.line), logTime(t, d.submatchAfter(mark, regexp.MustCompile(`memory limit: 'web' reloaded`)).line)
	next, err := l.waitNewTag([]string{first}, 5, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	pid := newGenerationPid(t, d, mark)
	rssAfter := treeRSS(pid)
	// Still under it once the new generation has served a while.
	if _, err := l.waitFor(func(tag string) bool { return tag == next }, 300, time.Minute); err != nil {
		t.Fatal(err)
	}
	rssLater := treeRSS(pid)
	l.stop()
	rep := l.report()
	stall := l.checkStall(t, "the watchdog's reload", steadyFrom, opFrom, opTo)

	zdReportf(t, "memory watchdog, puma leaking 5 MB/s: base RSS %d MB, memory_limit %d MB (grace 3s); breach logged %v after RUNNING (%s MB for %s), "+
		"reload took %v; tree RSS after %d MB, %d MB after 300 more answers; generations %s → %s; %v; %s",
		base>>20, limitMB, opFrom.Sub(spawnedAt).Round(100*time.Millisecond), breach.m[1], breach.m[3],
		opTo.Sub(opFrom).Round(time.Millisecond), rssAfter>>20, rssLater>>20, first, next, rep, stall)

	if rep.Failed != 0 || rep.Retried != 0 {
		t.Errorf("%d requests failed, %d re-sent: %v %v\ndrover's log:\n%s", rep.Failed, rep.Retried, rep.Examples, rep.Resent,
			strings.Join(zdEvents(d), "\n"))
	}
	if rssAfter <= 0 || rssAfter >= limit || rssLater >= limit {
		t.Errorf("tree RSS after the reload %d, then %d; limit %d", rssAfter, rssLater, limit)
	}
	if n := strings.Count(d.output(), "memory limit: 'web' process tree"); n != 1 {
		t.Errorf("%d breaches logged, want 1:\n%s", n, d.output())
	}
	if first != "1" || next != "2" {
		t.Errorf("generations %s → %s, want 1 → 2", first, next)
	}
}

// pumaBaseRSS runs the app once under puma on its own port, without the
// leak, answers a few requests and returns the tree's RSS and its biggest
// worker's.
func pumaBaseRSS(t *testing.T, bin, dir string, args ...string) [2]int64 {
	t.Helper()
	port := freePort(t)
	args = append([]string{"-C", "puma.rb", "-b", fmt.Sprintf("tcp://127.0.0.1:%d", port), "-t", "8:8"}, args...)
	cmd := exec.Command(bin, append(args, "config.ru")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ZD_LEAK=0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	// puma says so once it listens, after its workers booted (its stdout
	// ends at its exit).
	sc := bufio.NewScanner(out)
	listening := false
	for !listening && sc.Scan() {
		listening = strings.Contains(sc.Text(), "Use Ctrl-C to stop")
	}
	if !listening {
		t.Fatalf("calibration: puma exited before listening")
	}
	go func() {
		for sc.Scan() {
			_ = sc.Text() // drained until puma exits
		}
	}()
	for range 50 {
		if _, err := zdGet(fmt.Sprintf("http://127.0.0.1:%d", port)); err != nil {
			t.Fatalf("calibration: %v", err)
		}
	}
	var worker int64
	for _, p := range descendants(cmd.Process.Pid) {
		worker = max(worker, treeRSS(p))
	}
	return [2]int64{treeRSS(cmd.Process.Pid), worker}
}

// treeRSS sums the RSS of pid and its descendants (as drover counts).
func treeRSS(pid int) int64 {
	var n int64
	for _, p := range append([]int{pid}, descendants(pid)...) {
		if st, err := spawn.ReadProcStat(p); err == nil {
			n += st.RSS * int64(os.Getpagesize())
		}
	}
	return n
}

// newGenerationPid is the pid of the generation spawned after mark.
func newGenerationPid(t *testing.T, d *daemon, mark int) int {
	t.Helper()
	m := d.submatchAfter(mark, regexp.MustCompile(`spawned: 'web' with pid (\d+) \(new generation\)`))
	pid, _ := strconv.Atoi(m.m[1])
	return pid
}

// logLine is an output line and its submatches.
type logLine struct {
	line string
	m    []string
}

// submatchAfter is the first output line after mark that re matches.
func (d *daemon) submatchAfter(mark int, re *regexp.Regexp) logLine {
	d.t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, l := range d.lines[mark:] {
		if m := re.FindStringSubmatch(l); m != nil {
			return logLine{l, m}
		}
	}
	d.t.Fatalf("no line matching %q", re)
	return logLine{}
}

// logTime is the time a main log line was written (supervisord's format,
// local time, milliseconds).
func logTime(t *testing.T, line string) time.Time {
	t.Helper()
	if len(line) < 23 {
		t.Fatalf("no time in %q", line)
	}
	at, err := time.ParseInLocation("2006-01-02 15:04:05,000", line[:23], time.Local)
	if err != nil {
		t.Fatalf("no time in %q: %v", line, err)
	}
	return at
}

// watchdogClusterApp leaks in the one worker that creates the file
// "leaker" first (it writes its pid there); answers name the worker.
const watchdogClusterApp = `leaker = ENV["ZD_LEAK"] != "0" && begin
  File.open("leaker", File::WRONLY | File::CREAT | File::EXCL) { |f| f.write(Process.pid) }
  true
rescue Errno::EEXIST
  false
end
if leaker
  $leak = []
  Thread.new do
    loop do
      $leak << ("x" * (5 << 20))
      sleep 1
    end
  end
end
run lambda { |env|
  sleep 0.3 if env["PATH_INFO"] == "/slow"
  [200, {"content-type" => "text/plain"}, ["gen=w#{Process.pid}\n"]]
}
`

// memory_action = signal:TERM with worker_memory_limit, as
// puma_worker_killer does: clustered puma (2 workers), one of which leaks
// 5 MB/s; the watchdog sends TERM to that worker only, puma's master
// replaces it, no reload happens, and no request fails.
func TestE2EMemoryWatchdogSignalsPumaWorker(t *testing.T) {
	bin := testenv.LookPath(t, "puma", "apt-get install puma")
	dir := t.TempDir()
	for name, text := range map[string]string{"config.ru": watchdogClusterApp, "puma.rb": "queue_requests false\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	worker := pumaBaseRSS(t, bin, dir, "-w", "2")[1]
	limit := worker + 40<<20
	limitMB := (limit + 1<<20 - 1) >> 20

	port := freePort(t)
	// 8 threads a worker, as the other puma set-ups: while one worker is
	// replaced the other alone takes the load's 6 clients (with 4, a fast
	// request waited behind a /slow one, ~300 ms: capacity, not drover).
	section := fmt.Sprintf("\n[program:web]\ncommand = %s -C puma.rb --bind-to-activated-sockets only -w 2 -t 8:8 config.ru\nserver = puma\n%s"+
		"worker_memory_limit = %dMB\nmemory_grace = 2s\nmemory_action = signal:TERM\ndirectory = %s\nstartsecs = 1\n"+
		"redirect_stderr = true\nstdout_logfile = /dev/stdout\nstdout_logfile_maxbytes = 0\n",
		bin, strings.ReplaceAll(zdDroverLines, "@PORT@", strconv.Itoa(port)), limitMB, dir)
	d := startDaemon(t, "drover", config{Bare: true, Raw: section})
	d.waitLog(0, `success: web entered RUNNING`)
	master := d.submatchAfter(0, regexp.MustCompile(`spawned: 'web' with pid (\d+)`)).m[1]
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	l := startLoad(t, url, zdTag, 3*time.Minute)
	// Both workers answer before the leak is judged.
	if _, err := l.settle(10, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	steadyFrom := time.Now()
	mpid, _ := strconv.Atoi(master)
	var known []string // the workers that run now
	for _, p := range descendants(mpid) {
		known = append(known, fmt.Sprintf("w%d", p))
	}
	mark := d.mark()
	re := regexp.MustCompile(`memory limit: 'web' worker (\d+) RSS (\d+) MB > \d+ MB for ([0-9.]+s): sending TERM to worker (\d+)`)
	d.waitLog(mark, re.String())
	hit := d.submatchAfter(mark, re)
	opFrom := logTime(t, hit.line)
	leaker, err := os.ReadFile(filepath.Join(dir, "leaker"))
	if err != nil || string(leaker) != hit.m[1] || hit.m[4] != hit.m[1] {
		t.Fatalf("signalled worker %s, the leaking one is %q (%v)", hit.m[1], leaker, err)
	}
	// puma's master replaces the worker; the load sees the new one.
	next, err := l.waitNewTag(known, 5, 30*time.Second)
	if err != nil {
		t.Fatalf("%v\n%s", err, d.output())
	}
	opTo := time.Now()
	var workers []int64
	for _, p := range descendants(mpid) {
		workers = append(workers, treeRSS(p)>>20)
	}
	l.stop()
	rep := l.report()
	stall := l.checkStall(t, "the worker's replacement", steadyFrom, opFrom, opTo)
	zdReportf(t, "memory watchdog, clustered puma, one worker leaking 5 MB/s: biggest worker's base RSS %d MB, worker_memory_limit %d MB (grace 2s); "+
		"TERM to worker %s at %s MB, held %s; replaced by %s after %v; workers' RSS after %v MB; %v; %s",
		worker>>20, limitMB, hit.m[1], hit.m[2], hit.m[3], next, opTo.Sub(opFrom).Round(time.Millisecond), workers, rep, stall)

	if rep.Failed != 0 || rep.Retried != 0 {
		t.Errorf("%d requests failed, %d re-sent: %v %v\ndrover's log:\n%s", rep.Failed, rep.Retried, rep.Examples, rep.Resent, d.output())
	}
	for _, w := range workers {
		if w<<20 >= limit {
			t.Errorf("a worker over the limit after the replacement: %v MB", workers)
		}
	}
	out := d.output()
	if strings.Contains(out, "reloading") || strings.Count(out, "memory limit:") != 1 {
		t.Errorf("want exactly one signal and no reload:\n%s", out)
	}
	if in := d.droverCtl("pid", "web"); strings.TrimSpace(in.Stdout) != master {
		t.Errorf("drover pid web: %q, want the master %s", in.Stdout, master)
	}
}
