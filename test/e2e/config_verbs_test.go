//go:build e2e

package e2e

import (
	"strings"
	"testing"
)

// TestE2ESupervisorctlConfigVerbs runs the config and daemon verbs of
// issue 5 (reread, update, add, remove, reload, shutdown) through the real
// supervisorctl against both daemons, editing their configs between steps.
func TestE2ESupervisorctlConfigVerbs(t *testing.T) {
	needPeers(t)
	t.Parallel()
	sup, drv := startPair(t, config{}, config{})
	p := &pair{t: t, sup: sup, drv: drv}

	// reread / update: one group added, one changed, one removed.
	cfg := config{Added: true, SleeperChanged: true, NoManual: true}
	sup.writeConfig(cfg)
	drv.writeConfig(cfg)
	p.check("reread")
	p.check("avail")
	p.check("update")
	p.check("status")
	p.check("reread")
	p.check("update")
	// A changed group member restarts the whole group; naming groups
	// limits update to them.
	cfg.GroupC = true
	sup.writeConfig(cfg)
	drv.writeConfig(cfg)
	p.check("update", "sleeper")
	p.check("update", "g")
	p.check("status")

	// add / remove
	cfg.Extra = true
	sup.writeConfig(cfg)
	drv.writeConfig(cfg)
	p.check("reread")
	p.check("add", "extra")
	p.check("add", "extra") // already present
	p.check("add", "nope")
	p.check("remove", "extra") // still running
	p.check("stop", "extra")
	p.check("remove", "extra")
	p.check("remove", "extra") // gone
	p.check("remove", "nope")
	p.check("add")
	p.check("avail")

	// A config that does not parse: CANT_REREAD, nothing changes.
	bad := cfg
	bad.Raw = "\n[program:bad]\nstartsecs=abc\ncommand=x\n"
	sup.writeConfig(bad)
	drv.writeConfig(bad)
	for _, step := range []string{"reread", "update"} {
		s, d := p.checkAs(step+" (config error)", step)
		// Only the wording of the error may differ.
		for _, r := range []result{s, d} {
			if r.Code != 1 || !strings.Contains(r.Stdout, "CANT_REREAD: ") {
				t.Errorf("%s with a config error: want exit 1 and CANT_REREAD, got %v", step, r)
			}
		}
	}
	sup.writeConfig(cfg)
	drv.writeConfig(cfg)

	// reload (non-tty: no confirmation) brings the config's programs back.
	ms, md := sup.mark(), drv.mark()
	p.check("reload", "x")
	p.check("reload")
	sup.waitLog(ms, reloadLines...)
	drv.waitLog(md, reloadLines...)
	p.check("status")

	// shutdown, then a client with no server.
	p.check("shutdown", "x")
	p.check("shutdown")
	sup.waitExit()
	drv.waitExit()
	p.check("status")
	p.check("version")

	t.Logf("%d steps matched: %s", len(p.matched), strings.Join(p.matched, " | "))
}

// reloadLines are logged after a reload of the last config of the test.
var reloadLines = []string{
	`success: ga entered RUNNING`,
	`success: gb entered RUNNING`,
	`success: sleeper entered RUNNING`,
	`success: talker entered RUNNING`,
	`success: added entered RUNNING`,
	`success: extra entered RUNNING`,
	`gave up: quick entered FATAL`,
	`gave up: missing entered FATAL`,
}
