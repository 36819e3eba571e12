package cli

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"
)

// droverVerb runs a top-level `drover VERB args...` in-process.
func droverVerb(t *testing.T, verb string, args ...string) runResult {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := runCtlVerb(ctx, ctlIO{bytes.NewReader(nil), &out, &errb}, "drover "+verb, findVerb(verb), args, ctlFlags{})
	return runResult{out.String(), errb.String(), exitOf(t, err)}
}

// `drover reload NAME` reloads programs (here by the default restart
// strategy); the supervisorctl forms keep reload's meaning.
func TestDroverReloadNamesReloadsPrograms(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "", program("ok", "sleep")+program("idle", "sleep", "autostart = false")+
		program("zd", "sleep", "sockets = tcp://127.0.0.1:0"), "ok", "zd")
	m := d.mark()
	// Without sockets= or reload= a reload is a restart, and says so.
	expect(t, droverVerb(t, "reload", "-c", d.conf, "ok"), 0, `^ok: restarted \(not zero-downtime: add sockets= or reload=\)\n$`)
	d.waitLine(m, `success: ok entered RUNNING`)
	expect(t, droverVerb(t, "reload", "-c", d.conf, "zd"), 0, `^zd: reloaded\n$`)
	expect(t, droverVerb(t, "reload", "-c", d.conf, "ok:*", "zd:zd"), 0,
		`^ok: restarted \(not zero-downtime: add sockets= or reload=\)\nzd:zd: reloaded\n$`)
	expect(t, droverVerb(t, "reload", "-c", d.conf, "nope"), 1, `^nope: ERROR \(BAD_NAME: nope\)\n$`)
	expect(t, droverVerb(t, "reload", "-c", d.conf, "idle"), 7, `^idle: ERROR \(NOT_RUNNING: idle\)\n$`)
	expect(t, ctlRun(t, "", "-c", d.conf, "reload", "ok"), 1, `^Error: reload accepts no arguments\n`)
}

// `drover reload -h` and `drover help reload` describe both forms; the
// supervisorctl forms keep supervisorctl's one line.
func TestDroverReloadHelp(t *testing.T) {
	t.Parallel()
	both := `reload \t+Restart the daemon, as supervisorctl's reload.*reload <name>\t+Reload a program without downtime.*restarted \(not zero-downtime`
	// One text for both (the one-line summary first).
	expect(t, droverVerb(t, "reload", "-h"), 0, `(?s)^Reload programs without downtime[^\n]*\n\n`+both)
	var out, errb bytes.Buffer
	cmd := newCtlVerbCmd(findVerb("reload"))
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	if err := cmd.Help(); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?s)^Reload programs without downtime.*\n` + both).MatchString(out.String()) {
		t.Errorf("drover help reload:\n%s", out.String())
	}
	expect(t, ctlRun(t, "", "help", "reload"), 0, "^reload \t\tRestart the remote supervisord.\n$")
}
