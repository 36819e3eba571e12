//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/rpc"
	"github.com/drover-sh/drover/internal/testenv"
)

// logLine finds the first output line from index from on that matches re
// and returns its index and its timestamp (the main log's
// "2006-01-02 15:04:05,000" prefix).
func (d *daemon) logLine(from int, re string) (int, time.Time) {
	d.t.Helper()
	rx := regexp.MustCompile(re)
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := from; i < len(d.lines); i++ {
		l := d.lines[i]
		if !rx.MatchString(l) {
			continue
		}
		if len(l) < 23 {
			d.t.Fatalf("%q has no timestamp", l)
		}
		at, err := time.ParseInLocation("2006-01-02 15:04:05,000", l[:23], time.Local)
		if err != nil {
			d.t.Fatalf("%q: %v", l, err)
		}
		return i, at
	}
	d.t.Fatalf("no line matches %q; output:\n%s", re, strings.Join(d.lines, "\n"))
	return 0, time.Time{}
}

// TestE2EDependsOn: a web app (the plain-go app on drover's sockets) that
// depends on db:ready, where db is a stand-in that takes 2 s to listen,
// starts only once db's readiness probe answered, although its priority
// alone would start it first; a cycle is refused by `drover check`,
// `reread` and at HUP with the running config kept; `stop all` stops web before db is
// signalled. A dependency that is FATAL leaves its dependent waiting, as
// `drover status` says.
func TestE2EDependsOn(t *testing.T) {
	python := testenv.LookPath(t, "python3", "apt-get install python3")
	stub, err := filepath.Abs(filepath.Join("testdata", "dbstub.py"))
	if err != nil {
		t.Fatal(err)
	}
	webPort, dbPort := freePort(t), freePort(t)
	_, web := zdServers[len(zdServers)-1].setup(t, "drover", webPort) // plain-go
	section := func(dbExtra string) string {
		return web + "priority = 100\ndepends_on = db:ready\n" + fmt.Sprintf(`
[program:db]
command = %s %s %d
priority = 900
ready = tcp://127.0.0.1:%d
stopsignal = TERM
%s
[program:broken]
command = /nonexistent/cache
startretries = 0

[program:cache]
command = %s
depends_on = broken
`, python, stub, dbPort, dbPort, dbExtra, childCmd("sleep"))
	}
	d := startDaemon(t, "drover", config{Bare: true, Raw: section("")})
	d.waitLog(0, `success: web entered RUNNING`)

	_, dbSpawned := d.logLine(0, `spawned: 'db' with pid`)
	_, held := d.logLine(0, `holding web: waiting for db:ready \(db is STARTING\)`)
	dbReadyAt, dbReady := d.logLine(0, `success: db entered RUNNING state, its readiness probe`)
	webAt, webSpawned := d.logLine(0, `spawned: 'web' with pid`)
	if webAt < dbReadyAt || webSpawned.Before(dbReady) {
		t.Errorf("web spawned (line %d, %v) before db was ready (line %d, %v)", webAt, webSpawned, dbReadyAt, dbReady)
	}
	if took := dbReady.Sub(dbSpawned); took < 2*time.Second {
		t.Errorf("db ready %v after its spawn: the stand-in takes 2 s", took)
	}
	zdReportf(t, "depends_on: db spawned %s, web held %s, db ready %s (+%v), web spawned %s (+%v after db ready)",
		dbSpawned.Format("15:04:05.000"), held.Format("15:04:05.000"), dbReady.Format("15:04:05.000"),
		dbReady.Sub(dbSpawned).Round(time.Millisecond), webSpawned.Format("15:04:05.000"),
		webSpawned.Sub(dbReady).Round(time.Millisecond))
	// A FATAL dependency leaves its dependent waiting, saying why.
	d.waitLog(0, `gave up: broken entered FATAL state`)
	if st := d.droverCtl("status", "cache"); !strings.Contains(st.Stdout, "STOPPED") ||
		!strings.Contains(st.Stdout, "Not started, waiting for broken:running (broken is FATAL)") {
		t.Errorf("status cache: %v", st)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", webPort)
	if _, err := zdGet(base); err != nil {
		t.Fatal(err)
	}
	before := d.droverCtl("status")

	// A cycle: refused by check with file:line, and at HUP.
	good, err := os.ReadFile(d.conf)
	if err != nil {
		t.Fatal(err)
	}
	d.writeConfig(config{Bare: true, Raw: section("depends_on = web:running\n")})
	text, _ := os.ReadFile(d.conf)
	line := 0
	for i, l := range strings.Split(string(text), "\n") {
		if l == "depends_on = web:running" {
			line = i + 1
		}
	}
	chk := d.droverCtl("check")
	wantErr := fmt.Sprintf("supervisord.conf:%d: [program:db] depends_on: dependency cycle: ", line)
	if chk.Code == 0 || !strings.Contains(chk.Stdout+chk.Stderr, wantErr) {
		t.Errorf("check: want %q in\n%v", wantErr, chk)
	}
	if rr := d.droverCtl("reread"); rr.Code == 0 || !strings.Contains(rr.Stdout+rr.Stderr, "CANT_REREAD: ") || !strings.Contains(rr.Stdout+rr.Stderr, wantErr) {
		t.Errorf("reread: want the cycle refused\n%v", rr)
	} else {
		t.Logf("reread: %s", strings.TrimSpace(rr.Stdout+rr.Stderr))
	}
	m := d.mark()
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	d.waitLog(m, `could not apply the configuration, keeping the running one: .*dependency cycle: (db -> web -> db|web -> db -> web)`)
	if err := os.WriteFile(d.conf, good, 0o644); err != nil {
		t.Fatal(err)
	}
	after := d.droverCtl("status")
	if stable := regexp.MustCompile(`uptime \S+`); stable.ReplaceAllString(after.Stdout, "") != stable.ReplaceAllString(before.Stdout, "") {
		t.Errorf("status changed across the refused HUP:\n%s\n%s", before.Stdout, after.Stdout)
	}
	if _, err := zdGet(base); err != nil {
		t.Fatal(err)
	}

	// stop all: web first; db is signalled once web is STOPPED.
	f := followEvents(t, "stop", "-c", d.conf)
	for range 4 {
		if e := f.next(); !e.Snapshot {
			t.Fatalf("%v before the snapshot's end", e)
		}
	}
	if r := d.droverCtl("stop", "all"); r.Code != 0 {
		t.Fatal(r)
	}
	var seq []string
	f.waitFor(func(e rpc.EventJSON) bool {
		if strings.HasPrefix(e.Type, "PROCESS_STATE_") {
			seq = append(seq, e.Name+":"+strings.TrimPrefix(e.Type, "PROCESS_STATE_"))
		}
		return e.Name == "db" && e.Type == "PROCESS_STATE_STOPPED"
	})
	if want := []string{"web:STOPPING", "web:STOPPED", "db:STOPPING", "db:STOPPED"}; strings.Join(seq, " ") != strings.Join(want, " ") {
		t.Errorf("stop all: %v, want %v", seq, want)
	}
	zdReportf(t, "depends_on stop all: %v", seq)
}
