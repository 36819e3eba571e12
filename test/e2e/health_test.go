//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/rpc"
)

// healthRackApp is zdRackApp with a /healthz that answers 503 while the
// file "sick" in its directory names its generation: the serving
// generation falls ill, the one started after it is healthy. (Not by
// mtime: a file system's timestamps may be coarser than the time between
// the app's start and the test's write.)
const healthRackApp = `gen = ENV["DROVER_GENERATION"]
sick = File.join(Dir.pwd, "sick")
run lambda { |env|
  if env["PATH_INFO"] == "/healthz"
    ill = File.exist?(sick) && File.read(sick).split.include?(gen)
    return [ill ? 503 : 200, {"content-type" => "text/plain"}, [ill ? "sick\n" : "ok\n"]]
  end
  sleep 0.3 if env["PATH_INFO"] == "/slow"
  [200, {"content-type" => "text/plain"}, ["gen=#{gen}\n"]]
}
`

// TestE2EHealthReload: puma on drover's sockets with health= on its probe
// socket. Under load its health endpoint starts failing: three failed
// checks in a row, PROCESS_HEALTH_FAILED on GET /events, a blue/green
// reload to a healthy generation, 0 failed requests and no stall.
func TestE2EHealthReload(t *testing.T) {
	var s zdServer
	for _, z := range zdServers {
		if z.name == "puma" {
			s = z
		}
	}
	s.files = map[string]string{"config.ru": healthRackApp, "puma.rb": s.files["puma.rb"]}
	port := freePort(t)
	dir, section := s.setup(t, "drover", port)
	d := startDaemon(t, "drover", config{Bare: true, Raw: section +
		"health = http://{probe}/healthz\nhealth_interval = 500ms\nhealth_timeout = 2s\nhealth_threshold = 3\n"})
	d.waitLog(0, `success: web entered RUNNING`)
	f := followEvents(t, "health", "-c", d.conf)
	if e := f.next(); !e.Snapshot {
		t.Fatalf("%v before the snapshot", e)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	l, _ := zdStartLoad(t, "drover", base, 1)
	steadyFrom := time.Now()
	if _, err := l.waitFor(func(tag string) bool { return tag == "1" }, 200, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	m := d.mark()
	opFrom := time.Now()
	if err := os.WriteFile(filepath.Join(dir, "sick"), []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ev := f.waitFor(func(e rpc.EventJSON) bool { return e.Type == "PROCESS_HEALTH_FAILED" })
	d.waitLog(m, `health: 'web' \(pid \d+\) failed 1/3: GET http://127\.0\.0\.1:\d+/healthz: 503 Service Unavailable`,
		`health: 'web' \(pid \d+\) failed 3/3`, `health: 'web' failed 3 checks in a row: reloading \(bluegreen\)`,
		`health: 'web' reloaded`)
	opTo := time.Now()
	if ev.Failures != 3 || ev.Action != "reload" || !strings.Contains(ev.Error, "503") || ev.Name != "web" {
		t.Errorf("event %+v", ev)
	}
	if _, err := l.waitFor(func(tag string) bool { return tag == "2" }, 50, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	stall := l.checkStall(t, "health reload", steadyFrom, opFrom, opTo)
	l.stop()
	rep := l.report()
	zdReportf(t, "puma, health check failing 3 times under load: reloaded in %v (sick file to reloaded); %v; %s",
		opTo.Sub(opFrom).Round(time.Millisecond), rep, stall)
	if rep.Failed != 0 {
		t.Errorf("%v: %v\n%s", rep, rep.Examples, strings.Join(zdEvents(d), "\n"))
	}
	if n := strings.Count(d.output(), "failed 3 checks in a row"); n != 1 {
		t.Errorf("%d health actions, want 1 (the new generation is healthy)", n)
	}
}

// TestE2EHealthStatus: while puma's health checks fail, before the
// threshold acts, drover status and Debian's supervisorctl status say so
// after the uptime; once a check passes again the description is
// supervisord's again. A FATAL program with fatal_retry says when it is
// tried again, in both.
func TestE2EHealthStatus(t *testing.T) {
	var s zdServer
	for _, z := range zdServers {
		if z.name == "puma" {
			s = z
		}
	}
	s.files = map[string]string{"config.ru": healthRackApp, "puma.rb": s.files["puma.rb"]}
	port := freePort(t)
	dir, section := s.setup(t, "drover", port)
	d := startDaemon(t, "drover", config{Bare: true, Raw: section +
		"health = http://{probe}/healthz\nhealth_interval = 200ms\nhealth_timeout = 2s\nhealth_threshold = 1000\n" +
		"\n[program:broken]\ncommand = /nonexistent/x\nstartretries = 0\nfatal_retry = 10m\n"})
	d.waitLog(0, `success: web entered RUNNING`, `gave up: broken entered FATAL state`)
	m := d.mark()
	sick := filepath.Join(dir, "sick")
	if err := os.WriteFile(sick, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.waitLog(m, `health: 'web' \(pid \d+\) failed 2/1000: GET http://127\.0\.0\.1:\d+/healthz: 503 Service Unavailable`)
	// supervisorctl's output is normalised: PID, UPTIME.
	const pidUp = `pid (\d+|PID), uptime (\d:\d\d:\d\d|UPTIME)`
	failing := `RUNNING +` + pidUp + `, health check failed \d+/1000: GET http://127\.0\.0\.1:\d+/healthz: 503 Service Unavailable`
	retrying := `broken +FATAL +\S.*, retrying in (9m\d+s|10m0s)`
	for _, r := range []result{d.droverCtl("status"), d.ctl("status")} {
		for _, re := range []string{`web +` + failing, retrying} {
			if !regexp.MustCompile(re).MatchString(r.Stdout) {
				t.Errorf("status lacks %q:\n%v", re, r)
			}
		}
	}
	m = d.mark()
	if err := os.Remove(sick); err != nil {
		t.Fatal(err)
	}
	d.waitLog(m, `health: 'web' passes again after \d+ failure\(s\)`)
	for _, r := range []result{d.droverCtl("status", "web"), d.ctl("status", "web")} {
		if !regexp.MustCompile(`web +RUNNING +` + pidUp + `\n$`).MatchString(r.Stdout) {
			t.Errorf("status after a pass:\n%v", r)
		}
	}
}
