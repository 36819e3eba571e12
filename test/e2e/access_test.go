//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/drover-sh/drover/internal/testenv"
)

// accessUsers are the accounts the access test makes (as root, in CI).
var accessUsers = []string{"drover-deploy", "drover-ops", "drover-intruder"}

// ensureUsers creates the test's accounts when they do not exist.
func ensureUsers(t *testing.T) {
	t.Helper()
	testenv.NeedRoot(t, "the access rules test creates users and runs clients as them")
	useradd := testenv.LookPath(t, "useradd", "apt-get install passwd")
	for _, name := range accessUsers {
		if _, err := user.Lookup(name); err == nil {
			continue
		}
		if out, err := exec.Command(useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
			t.Fatalf("useradd %s: %v\n%s", name, err, out)
		}
	}
}

// as runs bin args as account name (setpriv: its uid, gid and groups).
func (d *daemon) as(name, bin string, args ...string) result {
	d.t.Helper()
	setpriv := testenv.LookPath(d.t, "setpriv", "apt-get install util-linux")
	return d.run(setpriv, append([]string{"--reuid=" + name, "--regid=" + name, "--init-groups", bin}, args...))
}

// openUp lets other users reach the daemon's directory (its socket and
// config) and the drover binary.
func openUp(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		for p := d; p != "/" && p != os.TempDir(); p = filepath.Dir(p) {
			if err := os.Chmod(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestE2EAccessRules: a deploy user controls myapp:* and nothing else, an
// ops user only reads, an intruder gets nothing, through the real
// supervisorctl and the drover CLI, with the unix socket open to everyone
// (mode 0666) and the rules deciding; every refusal and every change is
// in the audit log.
func TestE2EAccessRules(t *testing.T) {
	needPeers(t)
	ensureUsers(t)
	sleep := childCmd("sleep")
	raw := `
[program:web]
command=` + sleep + `
startsecs=0

[program:worker]
command=` + sleep + `
startsecs=0

[group:myapp]
programs=web,worker

[program:other]
command=` + sleep + `
startsecs=0

[access:deployers]
users = drover-deploy
control = myapp:*

[access:operators]
users = drover-ops
read = *
`
	d := startDaemon(t, "drover", config{Bare: true, Raw: raw, Chmod: "0666"})
	d.waitLog(0, `success: web entered RUNNING`, `success: worker entered RUNNING`, `success: other entered RUNNING`)
	openUp(t, d.dir, filepath.Dir(droverBin))
	if err := os.Chmod(d.conf, 0o644); err != nil {
		t.Fatal(err)
	}
	ctl := func(who string, args ...string) result {
		return d.as(who, supervisorctlPath, append([]string{"-c", d.conf}, args...)...)
	}
	drv := func(who string, args ...string) result {
		return d.as(who, droverBin, append([]string{"-c", d.conf}, args...)...)
	}
	const deploy, ops, intruder = "drover-deploy", "drover-ops", "drover-intruder"
	// Every verb, in an order that keeps the programs running between
	// steps; allow lists who may run it: deploy controls (and so reads)
	// myapp:*, ops reads everything, nobody administers.
	verbs := []struct {
		ctl, drv []string // nil: not a verb of that client
		allow    []string
		change   bool // an allowed run changes something (audited)
	}{
		{ctl: []string{"status"}, drv: []string{"status"}, allow: []string{deploy, ops}},
		{ctl: []string{"avail"}, drv: []string{"avail"}, allow: []string{deploy, ops}},
		{ctl: []string{"pid", "myapp:web"}, drv: []string{"pid", "myapp:web"}, allow: []string{deploy, ops}},
		{ctl: []string{"tail", "myapp:web"}, drv: []string{"tail", "myapp:web"}, allow: []string{deploy, ops}},
		{ctl: []string{"tail", "other"}, drv: []string{"tail", "other"}, allow: []string{ops}},
		{ctl: []string{"maintail"}, drv: []string{"maintail"}, allow: []string{ops}},
		{ctl: []string{"signal", "CONT", "myapp:web"}, drv: []string{"signal", "CONT", "myapp:web"}, allow: []string{deploy}, change: true},
		{ctl: []string{"stop", "myapp:web"}, drv: []string{"stop", "myapp:web"}, allow: []string{deploy}, change: true},
		{ctl: []string{"start", "myapp:web"}, drv: []string{"start", "myapp:web"}, allow: []string{deploy}, change: true},
		{ctl: []string{"restart", "myapp:*"}, drv: []string{"restart", "myapp:*"}, allow: []string{deploy}, change: true},
		{drv: []string{"reload", "myapp:web"}, allow: []string{deploy}, change: true},
		{ctl: []string{"stop", "other"}, drv: []string{"stop", "other"}},
		{ctl: []string{"signal", "CONT", "other"}, drv: []string{"signal", "CONT", "other"}},
		{ctl: []string{"clear", "myapp:web"}, drv: []string{"clear", "myapp:web"}},
		{ctl: []string{"reread"}, drv: []string{"reread"}},
		{ctl: []string{"update"}, drv: []string{"update"}},
		{ctl: []string{"remove", "other"}, drv: []string{"remove", "other"}},
		{ctl: []string{"reload"}, drv: []string{"reload"}},
		{ctl: []string{"shutdown"}, drv: []string{"shutdown"}},
	}
	clients := []struct {
		name string
		run  func(string, ...string) result
		args func(int) []string
	}{
		{"supervisorctl", ctl, func(i int) []string { return verbs[i].ctl }},
		{"drover", drv, func(i int) []string { return verbs[i].drv }},
	}
	ran := 0
	for _, c := range clients {
		for i, v := range verbs {
			args := c.args(i)
			if args == nil {
				continue
			}
			for _, who := range []string{deploy, ops, intruder} {
				what := fmt.Sprintf("%s %s as %s", c.name, strings.Join(args, " "), who)
				m := d.mark()
				r := c.run(who, args...)
				ran++
				audited := regexp.QuoteMeta("audit: "+who+" (uid ") + `[^)]*\): .*: `
				if slices.Contains(v.allow, who) {
					if r.Code != 0 || !slices.Contains(args, "maintail") && strings.Contains(r.Stdout+r.Stderr, "access denied") {
						t.Errorf("%s: want allowed\n%v", what, r)
					}
					if v.change {
						d.waitLog(m, audited+"OK$")
					}
					continue
				}
				// supervisorctl has fixed words for a FAILED fault in some
				// verbs ("ERROR (failed)") and none in start ("error: …
				// Unknown result code 30"); drover prints the refusal.
				out := r.Stdout + r.Stderr
				if r.Code == 0 || !strings.Contains(out, "access denied") && (c.name == "drover" || !strings.Contains(strings.ToLower(out), "error")) {
					t.Errorf("%s: want refused\n%v", what, r)
				}
				d.waitLog(m, audited+"FAILED: access denied")
			}
		}
	}
	t.Logf("%d client runs, each outcome as the rules say", ran)
	// A log stream the caller may not read is refused as if unknown
	// (supervisorctl prints the 404 and, as for an unknown name, exits
	// 0) and audited. Allowed streams never end: the rpc tests cover them.
	for _, c := range clients {
		m := d.mark()
		r := c.run(deploy, "tail", "-f", "other")
		if !strings.Contains(r.Stdout+r.Stderr, "404") {
			t.Errorf("%s tail -f other as deploy: want the 404\n%v", c.name, r)
		}
		d.waitLog(m, regexp.QuoteMeta("audit: "+deploy+" (uid ")+`[^)]*\): GET /logtail other: FAILED: access denied`)
	}
	// What each may read.
	for _, c := range clients {
		st := c.run(deploy, "status")
		if !strings.Contains(st.Stdout, "myapp:web") || strings.Contains(st.Stdout, "other") {
			t.Errorf("%s status as deploy shows what it may not read:\n%v", c.name, st)
		}
		if st := c.run(ops, "status"); !strings.Contains(st.Stdout, "other") || !strings.Contains(st.Stdout, "myapp:web") {
			t.Errorf("%s status as ops:\n%v", c.name, st)
		}
	}
	if st := d.ctl("status"); strings.Count(st.Stdout, "RUNNING") != 3 {
		t.Fatalf("after the refusals:\n%v", st)
	}
	if !strings.Contains(d.output(), "no [access:x] rule names it") {
		t.Errorf("the intruder's refusals do not say why")
	}
}
