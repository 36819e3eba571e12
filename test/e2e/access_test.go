//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
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
	ok := func(r result, what string) {
		t.Helper()
		if r.Code != 0 || strings.Contains(r.Stdout+r.Stderr, "access denied") {
			t.Errorf("%s: want allowed\n%v", what, r)
		}
	}
	refused := func(r result, what string) {
		t.Helper()
		if r.Code == 0 || !strings.Contains(r.Stdout+r.Stderr, "access denied") {
			t.Errorf("%s: want refused with \"access denied\"\n%v", what, r)
		}
	}
	// deploy: its programs, through both clients.
	for name, run := range map[string]func(string, ...string) result{"supervisorctl": ctl, "drover": drv} {
		ok(run("drover-deploy", "stop", "myapp:web"), name+" stop myapp:web as deploy")
		ok(run("drover-deploy", "start", "myapp:web"), name+" start myapp:web as deploy")
		ok(run("drover-deploy", "restart", "myapp:*"), name+" restart myapp:* as deploy")
		refused(run("drover-deploy", "stop", "other"), name+" stop other as deploy")
		refused(run("drover-deploy", "shutdown"), name+" shutdown as deploy")
		st := run("drover-deploy", "status")
		if !strings.Contains(st.Stdout, "myapp:web") || strings.Contains(st.Stdout, "other") {
			t.Errorf("%s status as deploy shows what it may not read:\n%v", name, st)
		}
		// ops: reads everything, changes nothing.
		if st := run("drover-ops", "status"); !strings.Contains(st.Stdout, "other") || !strings.Contains(st.Stdout, "myapp:web") {
			t.Errorf("%s status as ops:\n%v", name, st)
		}
		refused(run("drover-ops", "stop", "myapp:web"), name+" stop myapp:web as ops")
		refused(run("drover-ops", "update"), name+" update as ops")
		// intruder: nothing.
		refused(run("drover-intruder", "status"), name+" status as intruder")
		refused(run("drover-intruder", "stop", "other"), name+" stop other as intruder")
	}
	if st := d.ctl("status", "other"); !strings.Contains(st.Stdout, "RUNNING") {
		t.Fatalf("other after the refusals:\n%v", st)
	}
	log := d.output()
	for _, want := range []string{
		"audit: drover-deploy (uid ", ": supervisor.stopProcess myapp:web: OK",
		": supervisor.stopProcess other: FAILED: access denied: drover-deploy (uid",
		"audit: drover-ops (uid ", "audit: drover-intruder (uid ", "no [access:x] rule names it",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %q", want)
		}
	}
}
