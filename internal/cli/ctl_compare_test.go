package cli

import (
	"regexp"
	"testing"

	"github.com/drover-sh/drover/internal/testenv"
)

// realSupervisorctl is the reference client (Debian's supervisor 4.2.5).
const realSupervisorctl = "/usr/bin/supervisorctl"

var uptimeRx = regexp.MustCompile(`pid \d+, uptime \d+:\d\d:\d\d`)

// normalize hides what differs between two runs a moment apart.
func normalize(s string) string { return uptimeRx.ReplaceAllString(s, "pid N, uptime U") }

// compareWithSupervisorctl runs each command with drover's client and
// the real supervisorctl against one daemon and requires the same stdout
// and exit status. Only commands that leave the daemon as they found it
// are used, so the order of the two runs cannot matter.
func compareWithSupervisorctl(t *testing.T, d *testDaemon, cmds [][]string) {
	t.Helper()
	bin := droverBinary(t)
	for _, args := range cmds {
		want := binRun(t, "", realSupervisorctl, append([]string{"-c", d.conf}, args...)...)
		got := binRun(t, "", bin, append([]string{"ctl", "-c", d.conf}, args...)...)
		if got.code != want.code || normalize(got.out) != normalize(want.out) {
			t.Errorf("%v:\ndrover (exit %d):\n%s\nsupervisorctl (exit %d):\n%s", args, got.code, got.out, want.code, want.out)
		}
	}
}

func needSupervisorctl(t *testing.T) {
	testenv.NeedFile(t, realSupervisorctl, "apt-get install supervisor")
}

// TestCtlMatchesSupervisorctl is the quick side-by-side check (each
// supervisorctl run costs about half a second); the e2e-tagged
// TestE2ECtlMatchesSupervisorctlFull covers every read-only form.
func TestCtlMatchesSupervisorctl(t *testing.T) {
	t.Parallel()
	needSupervisorctl(t)
	d := startTestDaemon(t)
	d.waitLog("ok", "stdout", "hello-ok\n")
	compareWithSupervisorctl(t, d, [][]string{
		{"status"},
		{"status", "ok", "nope", "grp:*", "zz:*", "idle"},
		{"avail"},
		{"tail", "ok"},
		{"start", "ok", "nope", "zz:*"},
		{"stop", "idle", "nope"},
	})
}
