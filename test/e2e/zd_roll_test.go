//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/testenv"
)

// Rolling reloads: Debian's puma as a numprocs=4 program, each process on
// its own drover-owned port (%(process_num) is the port), under load on all
// four. `drover reload web:*` replaces them one at a time, then two at a
// time (--batch 2), each waiting for readiness, with no failed request and
// no stall; a roll where the third process's new generation cannot boot
// stops there and leaves the third and fourth serving their old
// generation.

// rollRackApp fails to boot when the file fail-<port> exists beside it.
const rollRackApp = `raise "told to fail" if File.exist?("fail-#{ENV["PORT"]}")
gen = ENV["DROVER_GENERATION"]
run lambda { |env|
  sleep 0.3 if env["PATH_INFO"] == "/slow"
  [200, {"content-type" => "text/plain"}, ["gen=#{gen}\n"]]
}
`

// freePortRun finds n consecutive free loopback ports.
func freePortRun(t *testing.T, n int) int {
	t.Helper()
	for try := 0; try < 50; try++ {
		base := freePort(t)
		var ls []net.Listener
		for i := range n {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
			if err != nil {
				break
			}
			ls = append(ls, l)
		}
		for _, l := range ls {
			l.Close()
		}
		if len(ls) == n {
			return base
		}
	}
	t.Fatalf("no %d consecutive free ports", n)
	return 0
}

func TestE2ERollingReload(t *testing.T) {
	puma := testenv.LookPath(t, "puma", "apt-get install puma")
	dir := t.TempDir()
	for name, text := range map[string]string{"config.ru": rollRackApp, "puma.rb": "queue_requests false\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const n = 4
	base := freePortRun(t, n)
	section := fmt.Sprintf(`
[program:web]
command = %s -C puma.rb --bind-to-activated-sockets only -t 8:8 config.ru
process_name = web_%%(process_num)d
numprocs = %d
numprocs_start = %d
sockets = tcp://127.0.0.1:%%(process_num)d
environment = PORT="%%(process_num)d"
server = puma
reload = bluegreen
ready = http://{probe}/
directory = %s
startsecs = 1
redirect_stderr = true
`, puma, n, base, dir)
	d := startDaemon(t, "drover", config{Bare: true, Raw: section})
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("web_%d", base+i))
		d.waitLog(0, fmt.Sprintf(`success: %s entered RUNNING`, names[i]))
	}
	loads := make([]*load, n)
	for i := range n {
		loads[i] = startLoad(t, fmt.Sprintf("http://127.0.0.1:%d", base+i), zdTag, 3*time.Minute)
		if _, err := loads[i].settle(10, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	steadyFrom := time.Now()
	steady := func() {
		t.Helper()
		for _, l := range loads {
			if err := l.waitFast(steadyFrom, 50, 30*time.Second); err != nil {
				t.Fatal(err)
			}
		}
	}
	steady()
	tags := func() []string {
		out := make([]string, n)
		for i := range n {
			tag, err := zdGet(fmt.Sprintf("http://127.0.0.1:%d", base+i))
			if err != nil {
				t.Errorf("port %d: %v", base+i, err)
			}
			out[i] = tag
		}
		return out
	}
	var report []string
	roll := func(what string, batch int, wantCode int, wantOut string) (before, after []string) {
		t.Helper()
		before = tags()
		from := len(strings.Split(d.output(), "\n"))
		args := []string{"reload", "--progress", "web:*"}
		if batch > 1 {
			args = []string{"reload", "--batch", fmt.Sprint(batch), "web:*"}
		}
		opFrom := time.Now()
		r := d.droverCtl(args...)
		opTo := time.Now()
		if r.Code != wantCode || !regexp.MustCompile(wantOut).MatchString(r.Stdout) {
			t.Errorf("%s: exit %d, stdout %q stderr %q; want %d and %s", what, r.Code, r.Stdout, r.Stderr, wantCode, wantOut)
		}
		after = tags()
		// --progress: each process's reload steps from the event stream, on
		// stderr, each reload to its DONE.
		if batch == 1 && wantCode == 0 && (strings.Count(r.Stderr, " reload READY bluegreen") != n ||
			strings.Count(r.Stderr, " reload DONE bluegreen") != n) {
			t.Errorf("%s: progress on stderr %q, want %d READY and DONE steps", what, r.Stderr, n)
		}
		// The order of the hand-offs, from the daemon's log: at most batch
		// processes between "reloading" and "reloaded".
		lines := strings.Split(d.output(), "\n")[from:]
		inFlight, most := 0, 0
		for _, line := range lines {
			switch {
			case strings.Contains(line, "reloading 'web_"):
				inFlight++
				most = max(most, inFlight)
			case strings.Contains(line, "reloaded: web_"), strings.Contains(line, "reload of 'web_"):
				inFlight--
			}
		}
		if most != batch {
			t.Errorf("%s: %d hand-offs at once, want %d", what, most, batch)
		}
		var stalls []string
		for i, l := range loads {
			s, err := l.stall(what, steadyFrom, opFrom, opTo)
			if err != nil {
				t.Errorf("port %d: %v", base+i, err)
			}
			stalls = append(stalls, s)
		}
		report = append(report, fmt.Sprintf("%s took %v:\n    %s", what, opTo.Sub(opFrom).Round(time.Millisecond), strings.Join(stalls, "\n    ")))
		steadyFrom = time.Now()
		steady()
		return before, after
	}
	okLines := `^(web:web_\d+: reloaded\n){4}$`
	before, after := roll("roll of 4, one at a time", 1, 0, okLines)
	for i := range n {
		if after[i] == before[i] {
			t.Errorf("%s still answers from generation %s", names[i], before[i])
		}
	}
	before, after = roll("roll of 4, two at a time", 2, 0, okLines)
	for i := range n {
		if after[i] == before[i] {
			t.Errorf("%s still answers from generation %s", names[i], before[i])
		}
	}
	// The third process's next generation raises at boot.
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("fail-%d", base+2)), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	failOut := fmt.Sprintf(`^web:%s: reloaded\nweb:%s: reloaded\nweb:%s: ERROR \(FAILED: .*exited before it was ready.*\)\nweb:%s: ERROR \(FAILED: not reloaded: the reload of web:%s failed\)\n$`,
		names[0], names[1], names[2], names[3], names[2])
	before, after = roll("roll where the third fails", 1, 1, failOut)
	for i := range n {
		if changed := after[i] != before[i]; changed != (i < 2) {
			t.Errorf("%s: generation %s before, %s after", names[i], before[i], after[i])
		}
	}
	for i, l := range loads {
		rep := l.report()
		report = append(report, fmt.Sprintf("port %d: %v", base+i, rep))
		if rep.Failed != 0 || rep.Retried != 0 {
			t.Errorf("port %d: %v: %v; re-sent %v", base+i, rep, rep.Examples, rep.Resent)
		}
	}
	zdReportf(t, "puma numprocs=4 rolling reloads under load:\n  %s", strings.Join(report, "\n  "))
}
