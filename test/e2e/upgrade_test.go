//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/rpc"
	"github.com/drover-sh/drover/internal/testenv"
)

// The in-place upgrade (drover upgrade): the daemon re-execs another build
// of drover with the same pid and hands over its children, their pipes,
// the programs' sockets and the control listeners.

// countEvery is the pace of a counting program's lines.
const countEvery = 20 * time.Millisecond

// countMain prints 1, 2, 3, ... one line per write(2), at a steady pace,
// until it is signalled: every number must reach its log exactly once.
func countMain() int {
	t := time.NewTicker(countEvery)
	for i := 1; ; i++ {
		os.Stdout.WriteString(strconv.Itoa(i) + "\n")
		<-t.C
	}
}

// buildVersion builds drover with cli.Version set to version (a "different
// build" to upgrade to), with -race when the suite runs with it.
func buildVersion(t *testing.T, version string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "drover-"+version)
	args := []string{"build", "-o", bin, "-ldflags", "-X github.com/drover-sh/drover/internal/cli.Version=" + version}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "github.com/drover-sh/drover/cmd/drover")
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		t.Fatalf("building drover %s: %v\n%s", version, err, out)
	}
	return bin
}

// countPrograms is n counting programs, each logging to %(here)s/cNNN.log.
func countPrograms(n int) (section string, names []string) {
	var b strings.Builder
	for i := range n {
		name := fmt.Sprintf("c%03d", i)
		names = append(names, name)
		fmt.Fprintf(&b, "\n[program:%s]\ncommand = %s\nstdout_logfile = %%(here)s/%s.log\nstdout_logfile_maxbytes = 0\nstartsecs = 0\nautorestart = false\n",
			name, childCmd("count"), name)
	}
	return b.String(), names
}

// apiClient is an XML-RPC client on d's unix socket.
func (d *daemon) apiClient(t *testing.T) *rpc.Client {
	t.Helper()
	c, err := rpc.NewClientAuth("unix://"+filepath.Join(d.dir, "supervisor.sock"), rpc.ClientAuth{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func call(t *testing.T, c *rpc.Client, method string, args ...any) any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	v, err := c.Call(ctx, method, args...)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return v
}

// processPids is every process's pid by name (0: not running).
func processPids(t *testing.T, c *rpc.Client) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, e := range call(t, c, "supervisor.getAllProcessInfo").([]any) {
		m := e.(map[string]any)
		out[m["name"].(string)] = m["pid"].(int)
	}
	return out
}

// countLines checks that path holds the lines 1..N exactly once each, in
// order, and returns N.
// linesGrew counts the lines of each program's log in dir (NAME.log) and
// fails for one that has no more than it had at (when); it returns the
// total.
func linesGrew(t *testing.T, dir string, names []string, at map[string]int, when string) int {
	t.Helper()
	lines := 0
	for _, n := range names {
		got, err := countLines(filepath.Join(dir, n+".log"))
		if err != nil {
			t.Error(err)
		}
		if got <= at[n] {
			t.Errorf("%s: %d lines at the end, %d %s: nothing captured after it", n, got, at[n], when)
		}
		lines += got
	}
	return lines
}

func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		if got := sc.Text(); got != strconv.Itoa(n) {
			return n - 1, fmt.Errorf("%s: line %d is %q, want %d (a line lost, doubled or torn)", filepath.Base(path), n, got, n)
		}
	}
	return n, sc.Err()
}

// logStamp is the time of the first output line matching re.
func (d *daemon) logStamp(t *testing.T, re *regexp.Regexp) time.Time {
	t.Helper()
	for _, line := range strings.Split(d.output(), "\n") {
		if re.MatchString(line) && len(line) >= 23 {
			at, err := time.ParseInLocation("2006-01-02 15:04:05,000", line[:23], time.Local)
			if err == nil {
				return at
			}
		}
	}
	t.Fatalf("no line matching %q in:\n%s", re, d.output())
	return time.Time{}
}

// TestE2EUpgradeInPlace: with 100 programs logging numbered lines and a
// server on drover-owned sockets under load, `drover upgrade` to another
// build keeps every pid (the daemon's too), loses and doubles no log line,
// fails no request and stalls none beyond the zero-downtime bound, and
// the new build answers control.
func TestE2EUpgradeInPlace(t *testing.T) {
	const programs = 100
	next := buildVersion(t, "e2e-next")
	progs, names := countPrograms(programs)
	port := freePort(t)
	_, web := zdServers[len(zdServers)-1].setup(t, "drover", port) // plain-go
	d := startDaemon(t, "drover", config{Bare: true, Raw: progs + web})
	var want []string
	for _, n := range names {
		want = append(want, `success: `+n+` entered RUNNING`)
	}
	d.waitLog(0, append(want, `success: web entered RUNNING`)...)
	api := d.apiClient(t)
	before := processPids(t, api)
	daemonPid := call(t, api, "supervisor.getPID").(int)
	fromVersion := call(t, api, "drover.getVersion").(string)

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	l := startLoad(t, base, zdTag, 5*time.Minute)
	tag, err := l.settle(10, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	steadyFrom := time.Now()
	if err := l.waitFast(steadyFrom, 50, 60*time.Second); err != nil {
		t.Fatal(err)
	}

	mark := d.mark()
	opFrom := time.Now()
	r := d.droverCtl("upgrade", "--binary", next)
	opTo := time.Now()
	if r.Code != 0 || !strings.Contains(r.Stdout, fromVersion+" -> e2e-next") {
		t.Fatalf("drover upgrade: exit %d\n%s%s\ndaemon output:\n%s", r.Code, r.Stdout, r.Stderr, d.output())
	}
	d.waitLog(mark, `drover upgraded in place from `+regexp.QuoteMeta(fromVersion)+` to e2e-next with pid `+strconv.Itoa(daemonPid))
	gap := d.logStamp(t, regexp.MustCompile(`drover upgraded in place from`)).Sub(
		d.logStamp(t, regexp.MustCompile(`upgrading in place to `)))
	quiesce := regexp.MustCompile(`handing over \d+ processes \(\d+ running\) after (\S+)`).FindStringSubmatch(d.output())
	if err := l.waitFast(opTo, 20, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	stall := l.checkStall(t, "upgrade", steadyFrom, opFrom, opTo)

	if v := call(t, api, "drover.getVersion"); v != "e2e-next" {
		t.Errorf("version after the upgrade %v, want e2e-next", v)
	}
	if p := call(t, api, "supervisor.getPID").(int); p != daemonPid {
		t.Errorf("daemon pid %d after the upgrade, was %d", p, daemonPid)
	}
	after := processPids(t, api)
	for name, pid := range before {
		if pid == 0 || after[name] != pid {
			t.Errorf("%s: pid %d before, %d after", name, pid, after[name])
		}
	}
	// Exactly one copy of each: the daemon's counting children.
	copies := 0
	for _, pid := range descendants(daemonPid) {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && strings.HasSuffix(string(b), "\x00count\x00") {
			copies++
		}
	}
	if copies != programs {
		t.Errorf("%d counting processes run, want %d", copies, programs)
	}
	// Lines written while the upgrade ran are in the logs: at least the
	// count reached when it ended, checked after the daemon flushed
	// everything at shutdown.
	atUpgrade := map[string]int{}
	for _, n := range names {
		atUpgrade[n], _ = countLines(filepath.Join(d.dir, n+".log"))
	}
	rep := l.report()
	if rep.Failed != 0 || rep.Retried != 0 {
		t.Errorf("load: %v; examples %v, re-sent %v", rep, rep.Examples, rep.Resent)
	}
	if len(rep.Seen) != 1 || rep.Seen[tag] == 0 {
		t.Errorf("answers by generation %v, want only %s (the server was not restarted)", rep.Seen, tag)
	}
	if r := d.droverCtl("shutdown"); r.Code != 0 {
		t.Fatalf("shutdown: %s%s", r.Stdout, r.Stderr)
	}
	d.waitExit()
	lines := linesGrew(t, d.dir, names, atUpgrade, "when the upgrade ended")
	q := "?"
	if quiesce != nil {
		q = quiesce[1]
	}
	zdReportf(t, "upgrade in place of %d programs + a server under load: command %v, quiesce %s, execve to serving %v; daemon pid %d and %d program pids unchanged; %d numbered lines checked, none lost or doubled; load: %v; %s",
		programs, opTo.Sub(opFrom).Round(time.Millisecond), q, gap, daemonPid, len(before), lines, rep, stall)
}

// TestE2EUpgradeRefused: an upgrade to a binary that exits at once (or is
// no drover, or does not exist) is refused by its preflight: the command
// fails, and the old daemon keeps running everything as it was.
func TestE2EUpgradeRefused(t *testing.T) {
	progs, _ := countPrograms(2)
	d := startDaemon(t, "drover", config{Bare: true, Raw: progs})
	d.waitLog(0, `success: c000 entered RUNNING`, `success: c001 entered RUNNING`)
	api := d.apiClient(t)
	before := processPids(t, api)
	version := call(t, api, "drover.getVersion")
	exits := filepath.Join(t.TempDir(), "exits-at-once")
	if err := os.WriteFile(exits, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, bin := range []string{exits, "/bin/false", filepath.Join(t.TempDir(), "missing")} {
		r := d.droverCtl("upgrade", "--binary", bin)
		if r.Code != 1 || !strings.Contains(r.Stdout+r.Stderr, "refused, nothing changed") {
			t.Errorf("upgrade to %s: exit %d\n%s%s", bin, r.Code, r.Stdout, r.Stderr)
		}
		if v := call(t, api, "drover.getVersion"); v != version {
			t.Errorf("after the upgrade to %s the version is %v, was %v", bin, v, version)
		}
		if after := processPids(t, api); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("after the upgrade to %s: pids %v, were %v", bin, after, before)
		}
	}
	if r := d.droverCtl("status"); r.Code != 0 {
		t.Errorf("status after refused upgrades: exit %d\n%s", r.Code, r.Stdout)
	}

	// A binary that passes its preflight and is gone when execve runs:
	// the upgrade is undone and this daemon goes on (reaping, logging,
	// answering), with nothing lost.
	vanishes := filepath.Join(t.TempDir(), "vanishes")
	script := "#!/bin/sh\necho drover-handover-ok vanished\nrm -f \"$0\"\n"
	if err := os.WriteFile(vanishes, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	mark := d.mark()
	r := d.droverCtl("upgrade", "--binary", vanishes)
	if r.Code != 1 || !strings.Contains(r.Stdout+r.Stderr, "the upgrade did not happen") {
		t.Errorf("upgrade to a vanishing binary: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	d.waitLog(mark, `upgrade to .*vanishes failed, this daemon goes on: execve`)
	// The same, from a binary that says this daemon's own version (a
	// reinstall): the version cannot tell, the image does.
	same := filepath.Join(t.TempDir(), "vanishes-same")
	script = fmt.Sprintf("#!/bin/sh\necho drover-handover-ok %v\nrm -f \"$0\"\n", version)
	if err := os.WriteFile(same, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	mark = d.mark()
	r = d.droverCtl("upgrade", "--binary", same)
	if r.Code != 1 || !strings.Contains(r.Stdout+r.Stderr, "the upgrade did not happen") {
		t.Errorf("upgrade to a vanishing binary of the same version: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	d.waitLog(mark, `upgrade to .*vanishes-same failed, this daemon goes on: execve`)
	if after := processPids(t, api); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("after the failed execve: pids %v, were %v", after, before)
	}
	// Exits are reaped again: stop waits for one.
	if r := d.droverCtl("stop", "c000"); r.Code != 0 || !strings.Contains(r.Stdout, "stopped") {
		t.Errorf("stop after the failed execve: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if r := d.droverCtl("shutdown"); r.Code != 0 {
		t.Fatalf("shutdown: %s%s", r.Stdout, r.Stderr)
	}
	d.waitExit()
	for _, n := range []string{"c000", "c001"} {
		if got, err := countLines(filepath.Join(d.dir, n+".log")); err != nil || got == 0 {
			t.Errorf("%s: %d lines, %v", n, got, err)
		}
	}
}

// TestE2EUpgradeWithEventListener: a supervisor.childutils listener (as
// superlance's are) is handed over by an upgrade in the middle of its
// work: busy with an event it answers after 1.5 s, 20 more buffered
// behind it. After the upgrade it keeps its pid, gets every event once,
// in order, with serials that go on counting, and more events after.
func TestE2EUpgradeWithEventListener(t *testing.T) {
	if err := exec.Command(systemPython, "-c", "import supervisor.childutils").Run(); err != nil {
		testenv.MissingPeer(t, "%s cannot import supervisor.childutils (apt-get install supervisor): %v", systemPython, err)
	}
	next := buildVersion(t, "e2e-next")
	script, err := filepath.Abs(filepath.Join("testdata", "listener.py"))
	if err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, "drover", config{Bare: true, Raw: fmt.Sprintf(`
[eventlistener:watch]
command=%s %s
events=REMOTE_COMMUNICATION
buffer_size=100
stderr_logfile=/dev/stdout
stderr_logfile_maxbytes=0
`, systemPython, script)})
	d.waitLog(0, `success: watch entered RUNNING`)
	api := d.apiClient(t)
	before := processPids(t, api)
	remote := func(data string) { call(t, api, "supervisor.sendRemoteCommEvent", "t", data) }
	remote("first")
	d.waitLog(0, `EVENT 0 0 REMOTE_COMMUNICATION type:t\\nfirst`)

	mark := d.mark()
	remote("slow")
	for i := 1; i <= 20; i++ {
		remote(fmt.Sprintf("before-%d", i))
	}
	r := d.droverCtl("upgrade", "--binary", next)
	if r.Code != 0 || !strings.Contains(r.Stdout, "-> e2e-next") {
		t.Fatalf("drover upgrade: exit %d\n%s%s\ndaemon output:\n%s", r.Code, r.Stdout, r.Stderr, d.output())
	}
	d.waitLog(mark, `drover upgraded in place from .* to e2e-next`)
	for i := 1; i <= 10; i++ {
		remote(fmt.Sprintf("after-%d", i))
	}
	d.waitLog(mark, `EVENT \d+ \d+ REMOTE_COMMUNICATION type:t\\nafter-10`)

	// Once more to the same build: the same version, another image.
	if r := d.droverCtl("upgrade", "--binary", next); r.Code != 0 || !strings.Contains(r.Stdout, "e2e-next -> e2e-next") {
		t.Fatalf("drover upgrade to the same build: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if after := processPids(t, api); after["watch"] != before["watch"] || before["watch"] == 0 {
		t.Errorf("listener pid %d before the upgrades, %d after", before["watch"], after["watch"])
	}
	// The slow event was delivered (busy) before the upgrade; every event
	// came once, in order, numbered on.
	want := []string{"first", "slow"}
	for i := 1; i <= 20; i++ {
		want = append(want, fmt.Sprintf("before-%d", i))
	}
	for i := 1; i <= 10; i++ {
		want = append(want, fmt.Sprintf("after-%d", i))
	}
	var got []string
	for i, x := range d.deliveries() {
		if x.serial != i || x.poolSerial != i {
			t.Errorf("delivery %d has serial %d, pool serial %d", i, x.serial, x.poolSerial)
		}
		got = append(got, strings.TrimPrefix(x.payload, `type:t\n`))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("events delivered:\n%s\nwant:\n%s", strings.Join(got, " "), strings.Join(want, " "))
	}
	busyAt := d.lineAfter(regexp.MustCompile(`EVENT 1 1 REMOTE_COMMUNICATION type:t\\nslow`))
	upgradeAt := d.lineAfter(regexp.MustCompile(`upgrading in place to `))
	nextAt := d.lineAfter(regexp.MustCompile(`EVENT 2 2 REMOTE_COMMUNICATION type:t\\nbefore-1$`))
	if busyAt > upgradeAt || nextAt < upgradeAt {
		t.Errorf("the listener was not busy when the upgrade began (lines: slow %d, upgrade %d, before-1 %d): nothing was handed over mid-event", busyAt, upgradeAt, nextAt)
	}
	for _, bad := range []string{"UNKNOWN", "bad result", "rejected", "overflowed"} {
		if strings.Contains(d.output(), bad) {
			t.Errorf("daemon output says %q:\n%s", bad, d.output())
		}
	}
	if r := d.droverCtl("shutdown"); r.Code != 0 {
		t.Fatalf("shutdown: %s%s", r.Stdout, r.Stderr)
	}
	d.waitExit()
	zdReportf(t, "upgrade in place with a busy event listener (supervisor.childutils) and 20 events buffered: listener pid %d kept, %d events delivered once each, in order, serials 0..%d",
		before["watch"], len(got), len(got)-1)
}
