//go:build e2e

package cli

import (
	"strings"
	"testing"
)

// TestE2ECtlMatchesSupervisorctlFull compares every read-only command form,
// the shell and the no-server messages with the real supervisorctl.
func TestE2ECtlMatchesSupervisorctlFull(t *testing.T) {
	needSupervisorctl(t)
	d := startTestDaemon(t)
	d.waitLog("ok", "stdout", "hello-ok\n")
	d.waitLog("ok", "stderr", "err:hello-ok\n")
	compareWithSupervisorctl(t, d, [][]string{
		{"status"},
		{"status", "ok", "nope", "grp:*", "zz:*", "idle"},
		{"status", "all"},
		{"avail"},
		{"pid", "nope"},
		{"pid", "idle"},
		{"tail", "ok"},
		{"tail", "-5", "ok", "stderr"},
		{"tail", "nope"},
		{"tail", "ok", "bad"},
		{"tail", "-x", "ok"},
		{"tail"},
		{"maintail", "x"},
		{"version"},
		{"version", "x"},
		{"reread"},
		{"update", "nope"},
		{"start", "ok", "nope", "zz:*"},
		{"start"},
		{"stop", "idle", "nope", "zz:*"},
		{"stop"},
		{"restart"},
		{"signal", "NOSUCHSIG", "ok"},
		{"signal", "WINCH", "idle", "nope"},
		{"signal", "HUP"},
		{"clear", "nope"},
		{"clear"},
		{"add", "nope"},
		{"remove", "nope", "ok"},
		{"avail", "x"},
		{"fg", "idle"},
		{"fg", "nope"},
		{"help"},
		{"help", "status"},
		{"frobnicate", "x"},
	})
	bin := droverBinary(t)
	shell := "status ok\nstatus nope\nhelp stop\nquit\n"
	want := binRun(t, shell, realSupervisorctl, "-c", d.conf)
	got := binRun(t, shell, bin, "ctl", "-c", d.conf)
	if got.code != want.code || normalize(got.out) != normalize(want.out) {
		t.Errorf("shell:\ndrover (exit %d):\n%s\nsupervisorctl (exit %d):\n%s", got.code, got.out, want.code, want.out)
	}
	gone := "unix://" + t.TempDir() + "/gone.sock"
	for _, args := range [][]string{{"status"}, {"start", "x"}, {"pid"}, {"shutdown"}} {
		want := binRun(t, "", realSupervisorctl, append([]string{"-s", gone}, args...)...)
		got := binRun(t, "", bin, append([]string{"ctl", "-s", gone}, args...)...)
		if got.code != want.code || got.out != want.out {
			t.Errorf("%v without server:\ndrover (exit %d):\n%s\nsupervisorctl (exit %d):\n%s", args, got.code, got.out, want.code, want.out)
		}
	}
	if t.Failed() {
		t.Log(strings.Join(d.snapshot(), "\n"))
	}
}
