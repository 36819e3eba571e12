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

// rules runs the fleet's programs with access rules present and the
// socket open to everyone (chmod 0666), and times the target's own status
// as root (who bypasses the rules) and as nobody (whose every process is
// checked against them); then the daemon's RSS. Read beside the fleet's
// status and RSS rows of the same run, which have no rules.
func (h *harness) rules(ctx context.Context, t *target) {
	n := h.opt.Programs
	rows := []struct{ id, name, unit string }{
		{"rules_status_root", fmt.Sprintf("rules present, %d programs: own status as root, median of %d", n, h.opt.StatusRuns), "ms"},
		{"rules_status_user", fmt.Sprintf("rules present: own status as nobody (read = *, checked per process), median of %d", h.opt.StatusRuns), "ms"},
		{"rules_rss", "rules present: daemon RSS after the status runs", "MB"},
	}
	set := func(i int, c *cell) { h.rep.set(rows[i].id, rows[i].name, rows[i].unit, "—", t.Name, c) }
	failAll := func(reason string) {
		for i := range rows {
			set(i, na(reason))
		}
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil || os.Geteuid() != 0 {
		failAll("needs root and setpriv (util-linux)")
		return
	}
	if t.Ctl == nil {
		failAll("no status verb")
		return
	}
	dir, err := h.newDir(t.Name + "-rules")
	if err != nil {
		failAll(shortErr(err))
		return
	}
	conf, err := benchConfig(dir, manyPrograms(n, h.sleep+" 100000", "startsecs=1"))
	if err == nil {
		err = openConfig(conf, dir)
	}
	if err != nil {
		failAll(shortErr(err))
		return
	}
	d, err := startDaemon(t, dir, conf)
	if err != nil {
		failAll(shortErr(err))
		return
	}
	defer d.Stop(stopGrace)
	wctx, cancel := context.WithTimeout(ctx, fleetStartTimeout)
	err = d.Log.Wait(wctx, d.Exited(), func(s *logState) bool { return len(s.Success) >= n })
	cancel()
	if err != nil {
		failAll(d.Why(err))
		return
	}
	own := t.Ctl(conf)
	set(0, h.timeStatus(ctx, d, own, n))
	set(1, h.timeStatus(ctx, d, append([]string{setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"}, own...), n))
	if kb, err := rssKB(d.Pid); err != nil {
		set(2, na(shortErr(err)))
	} else {
		set(2, value(float64(kb)/1024, "MB"))
	}
}

// openConfig adds the rules to conf, opens its socket to everyone and
// lets others reach dir (the socket) and read conf.
func openConfig(conf, dir string) error {
	b, err := os.ReadFile(conf)
	if err != nil {
		return err
	}
	text := strings.Replace(string(b), "[unix_http_server]\n", "[unix_http_server]\nchmod=0666\n", 1) + rulesSections
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
