package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// rulesSections are the access rules of the rules measurement: nobody may
// read everything (so its status checks a rule per process), and a second
// rule names another account. supervisord ignores them.
const rulesSections = `
[access:readers]
users = nobody
read = *

[access:deployers]
users = daemon
control = p00*
`

// rules runs the fleet's programs twice, without and with access rules,
// each time with the socket open to everyone (chmod 0666), and times the
// target's own status as root (who bypasses the rules) and as nobody
// (whose every process is checked against them), then reads the daemon's
// RSS: the same steps in the same order, so the rows differ only by the
// rules.
func (h *harness) rules(ctx context.Context, t *target) {
	n := h.opt.Programs
	for _, withRules := range []bool{false, true} {
		id, label := "rules_off", "no rules"
		if withRules {
			id, label = "rules_on", "rules present"
		}
		rows := []struct{ id, name, unit string }{
			{id + "_status_root", fmt.Sprintf("%s, %d programs: own status as root, median of %d", label, n, h.opt.StatusRuns), "ms"},
			{id + "_status_user", fmt.Sprintf("%s: own status as nobody (via setpriv), median of %d", label, h.opt.StatusRuns), "ms"},
			{id + "_rss", label + ": daemon RSS after those status runs", "MB"},
		}
		set := func(i int, c *cell) { h.rep.set(rows[i].id, rows[i].name, rows[i].unit, "—", t.Name, c) }
		if reason := h.rulesRun(ctx, t, withRules, set); reason != "" {
			for i := range rows {
				set(i, na(reason))
			}
		}
	}
}

// rulesRun is one daemon of the rules measurement; it returns why it
// could not run ("" when it ran).
func (h *harness) rulesRun(ctx context.Context, t *target, withRules bool, set func(int, *cell)) string {
	n := h.opt.Programs
	setpriv, err := exec.LookPath("setpriv")
	if err != nil || os.Geteuid() != 0 {
		return "needs root and setpriv (util-linux)"
	}
	if t.Ctl == nil {
		return "no status verb"
	}
	dir, err := h.newDir(t.Name + "-rules")
	if err != nil {
		return shortErr(err)
	}
	conf, err := benchConfig(dir, manyPrograms(n, h.sleep+" 100000", "startsecs=1"))
	if err == nil {
		err = openConfig(conf, dir, withRules)
	}
	if err != nil {
		return shortErr(err)
	}
	d, err := startDaemon(t, dir, conf)
	if err != nil {
		return shortErr(err)
	}
	defer d.Stop(stopGrace)
	wctx, cancel := context.WithTimeout(ctx, fleetStartTimeout)
	err = d.Log.Wait(wctx, d.Exited(), func(s *logState) bool { return len(s.Success) >= n })
	cancel()
	if err != nil {
		return d.Why(err)
	}
	own := t.Ctl(conf)
	set(0, h.timeStatus(ctx, d, own, n))
	set(1, h.timeStatus(ctx, d, append([]string{setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"}, own...), n))
	if kb, err := rssKB(d.Pid); err != nil {
		set(2, na(shortErr(err)))
	} else {
		set(2, value(float64(kb)/1024, "MB"))
	}
	return ""
}

// openConfig opens conf's socket to everyone, adds the rules if asked, and
// lets others reach dir (the socket) and read conf.
func openConfig(conf, dir string, withRules bool) error {
	b, err := os.ReadFile(conf)
	if err != nil {
		return err
	}
	text := strings.Replace(string(b), "[unix_http_server]\n", "[unix_http_server]\nchmod=0666\n", 1)
	if withRules {
		text += rulesSections
	}
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return err
	}
	for p := dir; p != "/" && p != filepath.Dir(p); p = filepath.Dir(p) {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o005 != 0o005 {
			if err := os.Chmod(p, fi.Mode().Perm()|0o055); err != nil {
				return err
			}
		}
	}
	return nil
}
