//go:build e2e

package cli

import (
	"encoding/json"
	"testing"

	"github.com/drover-sh/drover/internal/testenv"
)

const realSupervisord = "/usr/bin/supervisord"

// TestE2EStatusAgainstSupervisord: `drover status` against the real
// supervisord (which has no drover.* methods) falls back to
// supervisorctl's calls and prints what supervisorctl prints.
func TestE2EStatusAgainstSupervisord(t *testing.T) {
	t.Parallel()
	needSupervisorctl(t)
	testenv.NeedFile(t, realSupervisord, "apt-get install supervisor")
	d := startDaemonBinary(t, []string{realSupervisord}, "", program("ok", "sleep")+program("idle", "sleep", "autostart=false"), "ok")
	bin := droverBinary(t)
	for _, args := range [][]string{{"status"}, {"status", "ok"}, {"status", "nope", "idle"}} {
		want := binRun(t, "", realSupervisorctl, append([]string{"-c", d.conf}, args...)...)
		got := binRun(t, "", bin, append(args, "-c", d.conf)...)
		if got.code != want.code || normalize(got.out) != normalize(want.out) {
			t.Errorf("%v:\ndrover (exit %d):\n%s\nsupervisorctl (exit %d):\n%s", args, got.code, got.out, want.code, want.out)
		}
	}
	r := binRun(t, "", bin, "status", "--json", "-c", d.conf)
	var infos []map[string]any
	if err := json.Unmarshal([]byte(r.out), &infos); err != nil || len(infos) != 2 || infos[1]["name"] != "ok" || r.code != 3 {
		t.Errorf("status --json against supervisord: exit %d, %v\n%s", r.code, err, r.out)
	}
}
