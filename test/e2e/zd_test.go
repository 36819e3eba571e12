//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/testenv"
)

// The zero-downtime suite (issue 6): every server of zdServers under load
// through 20 reloads, by drover (blue/green on its own sockets, `drover
// reload web`) and, in the same run, by supervisord 4.2.5 (`supervisorctl
// restart web`); drover must fail no request, supervisord's failures are
// printed beside drover's and not asserted.

// zdReloads is the number of reloads per server and daemon
// ($DROVER_ZD_RELOADS overrides it for a quicker local run).
func zdReloads(t *testing.T) int {
	if v := os.Getenv("DROVER_ZD_RELOADS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("DROVER_ZD_RELOADS=%q: want a positive number", v)
		}
		return n
	}
	return 20
}

// zdParallel bounds how many servers run at once: the suite is mostly
// waiting (300 ms requests, server boots), but two cores must still serve
// the load and boot the next generation.
var zdParallel = make(chan struct{}, 2)

// zdResult is one daemon's run of one server.
type zdResult struct {
	load    loadReport
	took    []time.Duration // per reload, command start to return
	errs    []string        // reload commands that failed
	tags    []string        // the serving generation after each reload, the first one first
	skipped string          // why the daemon was not run
	events  []string        // the daemon's log lines about generations
}

func (r zdResult) String() string {
	if r.skipped != "" {
		return "not run (" + r.skipped + ")"
	}
	s := r.load.String()
	if len(r.took) > 0 {
		sorted := slices.Clone(r.took)
		slices.Sort(sorted)
		s += fmt.Sprintf("; %d reloads, median %v, max %v", len(r.took),
			sorted[len(sorted)/2].Round(time.Millisecond), sorted[len(sorted)-1].Round(time.Millisecond))
	}
	if len(r.errs) > 0 {
		s += fmt.Sprintf("; %d reload commands failed, e.g. %s", len(r.errs), r.errs[0])
	}
	return s
}

func TestE2EZeroDowntime(t *testing.T) {
	reloads := zdReloads(t)
	for _, s := range zdServers {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			zdParallel <- struct{}{}
			defer func() { <-zdParallel }()
			drv := zdRun(t, s, "drover", reloads)
			sup := zdResult{skipped: "supervisor not installed"}
			if testenv.WantFile(t, supervisordPath, "apt-get install supervisor") {
				sup = zdRun(t, s, "supervisord", reloads)
			}
			zdReportf(t, "%s, %d blue/green reloads under load:\n  drover:      %v\n  supervisord: %v (supervisorctl restart)", s.name, reloads, drv, sup)
			for _, e := range sup.load.Examples {
				t.Logf("  supervisord failure (reported, not asserted): %s", e)
			}
			if drv.load.Failed != 0 {
				t.Errorf("drover: %d requests failed: %v\ndrover's log:\n%s", drv.load.Failed, drv.load.Examples,
					strings.Join(drv.events, "\n"))
			}
			// Nothing hidden by the client's retry of a closed keep-alive
			// connection either: a request that would have failed without it
			// counts as failed.
			if drv.load.Retried != 0 {
				t.Errorf("drover: %d keep-alive requests had to be re-sent (their connection closed before an answer): %v\ndrover's log:\n%s",
					drv.load.Retried, drv.load.Resent, strings.Join(drv.events, "\n"))
			}
			if len(drv.errs) != 0 {
				t.Errorf("drover: reload commands failed: %v", drv.errs)
			}
			// Each hand-off happened: every generation answered the load.
			for _, tag := range drv.tags {
				if drv.load.Seen[tag] == 0 {
					t.Errorf("drover: generation %s never answered the load; answers %v", tag, drv.load.Seen)
				}
			}
			if n := len(drv.tags); n != reloads+1 {
				t.Errorf("drover: %d generations served, want %d: %v", n, reloads+1, drv.tags)
			}
		})
	}
}

// zdRun runs server s under kind with the load and reloads it n times.
func zdRun(t *testing.T, s zdServer, kind string, n int) zdResult {
	t.Helper()
	port := freePort(t)
	_, section := s.setup(t, kind, port)
	d := startDaemon(t, kind, config{Bare: true, Raw: section})
	d.waitLog(0, `success: web entered RUNNING`)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	l, res := zdStartLoad(t, kind, base, n)
	if l == nil {
		return res
	}
	for i := range n {
		t0 := time.Now()
		var r result
		if kind == "drover" {
			r = d.droverCtl("reload", "web")
		} else {
			r = d.ctl("restart", "web")
		}
		res.took = append(res.took, time.Since(t0))
		if r.Code != 0 {
			res.errs = append(res.errs, fmt.Sprintf("reload %d: %s", i+1, strings.TrimSpace(r.Stdout+r.Stderr)))
		}
		if kind == "drover" {
			// The old generation has exited when the command returns: the
			// next answer is the new one's.
			next, err := zdGet(base)
			switch {
			case err != nil:
				res.errs = append(res.errs, fmt.Sprintf("after reload %d: %v", i+1, err))
			case slices.Contains(res.tags, next):
				res.errs = append(res.errs, fmt.Sprintf("after reload %d: generation %s answered", i+1, next))
			}
		}
		// The load must see the new generation (supervisord's may take a
		// while to listen after RUNNING).
		next, err := l.waitNewTag(res.tags, 5, 30*time.Second)
		if err != nil {
			res.errs = append(res.errs, fmt.Sprintf("after reload %d: %v", i+1, err))
			break
		}
		res.tags = append(res.tags, next)
	}
	res.load = l.report()
	res.events = zdEvents(d)
	return res
}

// zdReportMu serialises appends to $DROVER_ZD_REPORT.
var zdReportMu sync.Mutex

// zdReportf logs a summary and appends it to the file $DROVER_ZD_REPORT
// names, if any: `make e2e` prints that file, so the side-by-side figures
// show in CI without -v.
func zdReportf(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	t.Log(msg)
	path := os.Getenv("DROVER_ZD_REPORT")
	if path == "" {
		return
	}
	zdReportMu.Lock()
	defer zdReportMu.Unlock()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Errorf("zero-downtime report: %v", err)
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s %s\n", t.Name(), msg)
}

// zdStartLoad starts the load on base for n reloads and waits until the
// server answers it; the result holds the first generation's tag. A
// supervisord whose server never answers is reported (nil load).
func zdStartLoad(t *testing.T, kind, base string, n int) (*load, zdResult) {
	t.Helper()
	l := startLoad(t, base, zdTag, time.Duration(n+2)*40*time.Second)
	tag, err := l.settle(10, 30*time.Second)
	if err != nil {
		l.stop()
		if kind == "drover" {
			t.Fatalf("drover: %v", err)
		}
		return nil, zdResult{skipped: err.Error()}
	}
	return l, zdResult{tags: []string{tag}}
}

// zdEvents are the daemon's log lines about spawns, hand-offs and exits,
// printed when a request failed so its time can be placed.
func zdEvents(d *daemon) []string {
	var ev []string
	for _, line := range strings.Split(d.output(), "\n") {
		for _, w := range []string{"spawned:", "handing off", "exited", "killing", "reloading", "success:"} {
			if strings.Contains(line, w) {
				ev = append(ev, line)
				break
			}
		}
	}
	return ev
}

// zdGet asks base once on a fresh connection and returns the answer's tag.
func zdGet(base string) (string, error) {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: requestTimeout}
	resp, err := c.Get(base + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	return zdTag(string(b)), nil
}

// droverCtl runs the drover CLI with args against d (not normalised).
func (d *daemon) droverCtl(args ...string) result {
	d.t.Helper()
	return d.run(droverBin, append(args[:1:1], append([]string{"-c", d.conf}, args[1:]...)...))
}
