package cli

import (
	"bytes"
	"context"
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
	d := startDaemon(t, "", program("ok", "sleep")+program("idle", "sleep", "autostart = false"), "ok")
	m := d.mark()
	expect(t, droverVerb(t, "reload", "-c", d.conf, "ok"), 0, `^ok: reloaded\n$`)
	d.waitLine(m, `success: ok entered RUNNING`)
	expect(t, droverVerb(t, "reload", "-c", d.conf, "nope"), 1, `^nope: ERROR \(BAD_NAME: nope\)\n$`)
	expect(t, droverVerb(t, "reload", "-c", d.conf, "idle"), 7, `^idle: ERROR \(NOT_RUNNING: idle\)\n$`)
	expect(t, ctlRun(t, "", "-c", d.conf, "reload", "ok"), 1, `^Error: reload accepts no arguments\n`)
}
