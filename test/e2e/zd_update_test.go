//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/testenv"
)

// A deploy that changes config: `drover update` after an environment=
// change hands the program off to a generation with the new environment,
// under load, with no failed request and no stall (the max fast-path
// latency during the update within 4 × the steady p99 + 100 ms). The same
// change under supervisord (`supervisorctl update`: stop, then start) runs
// beside it and is printed, not asserted. The apps answer with $RELEASE.

const (
	releaseRackApp = `run lambda { |env|
  sleep 0.3 if env["PATH_INFO"] == "/slow"
  [200, {"content-type" => "text/plain"}, ["gen=#{ENV["RELEASE"]}\n"]]
}
`
	releaseWSGIApp = `import os, time
def app(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(0.3)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("gen=%s\n" % os.environ["RELEASE"]).encode()]
`
)

// releaseServer is s answering $RELEASE instead of its generation.
func releaseServer(s zdServer) zdServer {
	files := map[string]string{}
	for name, text := range s.files {
		switch name {
		case "config.ru":
			text = releaseRackApp
		case "app.py":
			text = releaseWSGIApp
		}
		files[name] = text
	}
	s.files = files
	return s
}

func TestE2EZeroDowntimeUpdate(t *testing.T) {
	for _, s := range zdServers {
		if s.name != "unicorn" && s.name != "puma" && s.name != "gunicorn" {
			continue
		}
		s := releaseServer(s)
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			zdParallel <- struct{}{}
			defer func() { <-zdParallel }()
			drv, stall := updateRun(t, s, "drover")
			sup, supStall := zdResult{skipped: "supervisor not installed"}, ""
			if testenv.WantFile(t, supervisordPath, "apt-get install supervisor") {
				sup, supStall = updateRun(t, s, "supervisord")
			}
			zdReportf(t, "%s update after an environment change, under load:\n  drover:      %v; %s\n  supervisord: %v; %s (supervisorctl update)",
				s.name, drv, stall, sup, supStall)
			if drv.load.Failed != 0 || drv.load.Retried != 0 {
				t.Errorf("drover: %v: %v; re-sent: %v", drv.load, drv.load.Examples, drv.load.Resent)
			}
			if len(drv.errs) != 0 {
				t.Errorf("drover: %v", drv.errs)
			}
		})
	}
}

// updateRun starts s under kind with RELEASE=v1, waits for a steady load,
// changes it to v2 and runs kind's update; for drover it checks what the
// command prints and the stall bound (kind's own t for supervisord is a
// throwaway, so that its stall is reported, not asserted).
func updateRun(t *testing.T, s zdServer, kind string) (zdResult, string) {
	t.Helper()
	port := freePort(t)
	_, section := s.setup(t, kind, port)
	withRelease := func(r string) config {
		return config{Bare: true, Raw: section + fmt.Sprintf("environment = RELEASE=%q\n", r)}
	}
	d := startDaemon(t, kind, withRelease("v1"))
	d.waitLog(0, `success: web entered RUNNING`)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	l, res := zdStartLoad(t, kind, base, 1)
	if l == nil {
		return res, ""
	}
	steadyFrom := time.Now()
	if _, err := l.waitFor(func(tag string) bool { return tag == "v1" }, 300, 30*time.Second); err != nil {
		t.Fatalf("%s: steady load: %v", kind, err)
	}
	d.writeConfig(withRelease("v2"))
	opFrom := time.Now()
	var r result
	if kind == "drover" {
		r = d.droverCtl("update")
	} else {
		r = d.ctl("update")
	}
	opTo := time.Now()
	out := strings.TrimSpace(r.Stdout + r.Stderr)
	res.took = append(res.took, opTo.Sub(opFrom))
	if kind == "drover" {
		if want := "web: updated process group (handed off, no downtime)"; r.Code != 0 || out != want {
			res.errs = append(res.errs, fmt.Sprintf("update: exit %d, %q, want %q", r.Code, out, want))
		}
		// The old generation has exited when the command returns.
		if tag, err := zdGet(base); err != nil || tag != "v2" {
			res.errs = append(res.errs, fmt.Sprintf("right after the update: %q %v, want v2", tag, err))
		}
	}
	if _, err := l.waitFor(func(tag string) bool { return tag == "v2" }, 5, 30*time.Second); err != nil {
		res.errs = append(res.errs, fmt.Sprintf("after the update: %v", err))
	}
	stall, err := l.stall("update", steadyFrom, opFrom, opTo)
	if err != nil && kind == "drover" { // supervisord's is printed, not asserted
		res.errs = append(res.errs, err.Error())
	}
	res.load = l.report()
	res.events = zdEvents(d)
	res.tags = []string{"v1", "v2"}
	return res, stall
}

// An update whose new command cannot start (a typo in the rackup file)
// costs nothing: the new generation exits, the old one keeps serving with
// the old config under load, the command fails saying why, and status says
// the config is pending until an update succeeds.
func TestE2EUpdateBrokenCommandKeepsServing(t *testing.T) {
	var s zdServer
	for _, z := range zdServers {
		if z.name == "puma" {
			s = releaseServer(z)
		}
	}
	port := freePort(t)
	_, section := s.setup(t, "drover", port)
	cfg := func(rackup string) config {
		return config{Bare: true, Raw: strings.Replace(section, "config.ru", rackup, 1) + "environment = RELEASE=\"v1\"\n"}
	}
	d := startDaemon(t, "drover", cfg("config.ru"))
	d.waitLog(0, `success: web entered RUNNING`)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	l, _ := zdStartLoad(t, "drover", base, 1)
	steadyFrom := time.Now()
	if _, err := l.waitFor(func(tag string) bool { return tag == "v1" }, 200, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	d.writeConfig(cfg("no-such-config.ru"))
	opFrom := time.Now()
	r := d.droverCtl("update")
	opTo := time.Now()
	out := strings.TrimSpace(r.Stdout + r.Stderr)
	if r.Code != 1 || !strings.HasPrefix(out, "web: ERROR (the new config is not applied: web: the new generation (pid ") ||
		!strings.Contains(out, "exited before it was ready (exit status 1); pid ") || !strings.HasSuffix(out, " keeps serving)") {
		t.Errorf("update: exit %d, %q", r.Code, out)
	}
	st := d.droverCtl("status", "web")
	if !strings.Contains(st.Stdout, "RUNNING") || !strings.Contains(st.Stdout, ", config pending: ") {
		t.Errorf("status: %q", st.Stdout)
	}
	if tag, err := zdGet(base); err != nil || tag != "v1" {
		t.Errorf("after the failed update: %q %v, want v1", tag, err)
	}
	if rr := d.droverCtl("reread"); !strings.Contains(rr.Stdout, "web: changed") {
		t.Errorf("reread: %q", rr.Stdout)
	}
	stall := l.checkStall(t, "update", steadyFrom, opFrom, opTo)
	rep := l.report()
	zdReportf(t, "puma update to a broken command, under load: %v; %s; the command took %v", rep, stall, opTo.Sub(opFrom).Round(time.Millisecond))
	if rep.Failed != 0 {
		t.Errorf("%v: %v", rep, rep.Examples)
	}
}
