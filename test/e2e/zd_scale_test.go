//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/testenv"
)

// Runtime scaling: Debian's puma as a numprocs=2 program, each process on
// its own drover-owned port, under load. `drover scale web 4` starts two
// more (the command returns when they are ready: load on their ports
// fails nothing from the first request), `drover scale web 2` stops them
// again, highest first, and closes their ports; the two that stay serve
// throughout with no failed request and no stall. `drover scale web 3`
// then `drover update` brings the config file's numprocs back the same way.
func TestE2EScaleUnderLoad(t *testing.T) {
	puma := testenv.LookPath(t, "puma", "apt-get install puma")
	dir := t.TempDir()
	for name, text := range map[string]string{"config.ru": rollRackApp, "puma.rb": "queue_requests false\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := freePortRun(t, 4)
	section := fmt.Sprintf(`
[program:web]
command = %s -C puma.rb --bind-to-activated-sockets only -t 8:8 config.ru
process_name = web_%%(process_num)d
numprocs = 2
numprocs_start = %d
sockets = tcp://127.0.0.1:%%(process_num)d
environment = PORT="%%(process_num)d"
server = puma
directory = %s
startsecs = 1
redirect_stderr = true
`, puma, base, dir)
	d := startDaemon(t, "drover", config{Bare: true, Raw: section})
	url := func(i int) string { return fmt.Sprintf("http://127.0.0.1:%d", base+i) }
	name := func(i int) string { return fmt.Sprintf("web:web_%d", base+i) }
	for i := range 2 {
		d.waitLog(0, fmt.Sprintf(`success: web_%d entered RUNNING`, base+i))
	}
	// The two processes that stay, under load from start to end.
	stay := []*load{startLoad(t, url(0), zdTag, 3*time.Minute), startLoad(t, url(1), zdTag, 3*time.Minute)}
	for _, l := range stay {
		if _, err := l.settle(10, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	tagsBefore := []string{mustGet(t, url(0)), mustGet(t, url(1))}
	var report []string
	scale := func(what string, args []string, wantOut string) {
		t.Helper()
		steadyFrom := time.Now()
		for _, l := range stay {
			if err := l.waitFast(steadyFrom, 50, 30*time.Second); err != nil {
				t.Fatal(err)
			}
		}
		opFrom := time.Now()
		r := d.droverCtl(args...)
		opTo := time.Now()
		if r.Code != 0 || r.Stdout != wantOut {
			t.Errorf("%s: %v\nwant stdout %q", what, r, wantOut)
		}
		var stalls []string
		for i, l := range stay {
			stalls = append(stalls, fmt.Sprintf("port %d: %s", base+i, l.checkStall(t, what, steadyFrom, opFrom, opTo)))
		}
		report = append(report, fmt.Sprintf("%s took %v:\n    %s", what, opTo.Sub(opFrom).Round(time.Millisecond), strings.Join(stalls, "\n    ")))
	}

	scale("scale web 4", []string{"scale", "web", "4"}, fmt.Sprintf("%s: started\n%s: started\n", name(2), name(3)))
	// Ready when the command returned: the load on the new ports counts
	// every request from the first.
	added := []*load{startLoad(t, url(2), zdTag, time.Minute), startLoad(t, url(3), zdTag, time.Minute)}
	for _, l := range added {
		if _, err := l.waitFor(func(string) bool { return true }, 20, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	for i, l := range added {
		rep := l.report()
		report = append(report, fmt.Sprintf("port %d (added): %v", base+2+i, rep))
		if rep.Failed != 0 {
			t.Errorf("port %d: %v: %v", base+2+i, rep, rep.Examples)
		}
	}
	if r := d.droverCtl("status"); strings.Count(r.Stdout, "RUNNING") != 4 {
		t.Errorf("status after scale web 4: %v", r)
	}

	scale("scale web 2", []string{"scale", "web", "2"}, fmt.Sprintf("%s: removed\n%s: removed\n", name(3), name(2)))
	// Highest process_num first, one at a time.
	out := d.output()
	if i3, i2 := strings.Index(out, fmt.Sprintf("stopped: web_%d", base+3)), strings.Index(out, fmt.Sprintf("stopped: web_%d", base+2)); i3 < 0 || i2 < 0 || i3 > i2 {
		t.Errorf("stop order in the log: web_%d at %d, web_%d at %d", base+3, i3, base+2, i2)
	}
	for i := 2; i < 4; i++ {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", base+i), time.Second); err == nil {
			c.Close()
			t.Errorf("port %d still accepts after scaling down", base+i)
		}
	}

	// Scaled to 3, then update: the config file's numprocs (2) wins.
	scale("scale web 3", []string{"scale", "web", "3"}, fmt.Sprintf("%s: started\n", name(2)))
	scale("update", []string{"update"}, "web: scaled to the config's numprocs (the other processes untouched)\n")
	if r := d.droverCtl("status"); strings.Count(r.Stdout, "RUNNING") != 2 || strings.Contains(r.Stdout, fmt.Sprint(base+2)) {
		t.Errorf("status after update: %v", r)
	}

	for i, l := range stay {
		rep := l.report()
		report = append(report, fmt.Sprintf("port %d (stays): %v", base+i, rep))
		if rep.Failed != 0 || rep.Retried != 0 {
			t.Errorf("port %d: %v: %v; re-sent %v", base+i, rep, rep.Examples, rep.Resent)
		}
	}
	if after := []string{mustGet(t, url(0)), mustGet(t, url(1))}; after[0] != tagsBefore[0] || after[1] != tagsBefore[1] {
		t.Errorf("the staying processes were restarted: generations %v then %v", tagsBefore, after)
	}
	zdReportf(t, "puma numprocs=2 scaled to 4, 2, 3 and back by update, under load:\n  %s", strings.Join(report, "\n  "))
}

func mustGet(t *testing.T, url string) string {
	t.Helper()
	tag, err := zdGet(url)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}
