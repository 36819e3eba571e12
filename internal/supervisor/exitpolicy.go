package supervisor

import (
	"fmt"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/logfile"
)

// ExitPolicy is what Run returns after a program's exit_daemon_on ended
// the daemon (a container's main program failed or finished): every
// process was stopped in shutdown order first. Code is the exit status
// the daemon should exit with.
type ExitPolicy struct {
	Name  string // the process that ended it
	State State  // FATAL or EXITED
	Code  int
}

func (e *ExitPolicy) Error() string {
	return fmt.Sprintf("%s entered %s (exit_daemon_on): exit status %d", e.Name, e.State, e.Code)
}

// watchExitPolicy runs when p enters FATAL or EXITED. Once the message
// that did it is done (an autorestart may have spawned p again, or armed
// its delayed restart), p's end is final if it is still FATAL, or EXITED
// with no restart due; then a program with exit_daemon_on begins the
// shutdown, and Run returns an *ExitPolicy.
func (c *core) watchExitPolicy(p *proc) {
	on := p.cfg.Drover.Container.ExitDaemonOn
	if on == config.ExitDaemonNever || c.state != StateRunning {
		return
	}
	c.addWaiter(&waiter{}, func(c *core) bool {
		if c.state != StateRunning {
			return true
		}
		switch {
		case p.state == Fatal:
		case p.state == Exited && on == config.ExitDaemonExit && !p.t.armed():
		default:
			return true // started again, or a restart is due
		}
		e := &ExitPolicy{Name: p.cfg.Name, State: p.state, Code: exitPolicyCode(p)}
		c.logf(logfile.LevelCritical, "exiting: %s entered %s and has exit_daemon_on=%s; stopping everything, then exiting with status %d",
			e.Name, e.State, on, e.Code)
		if c.beginStop(StateShutdown) == nil {
			c.exitErr = e
		}
		return true
	})
}

// exitPolicyCode is exit_daemon_code if set; else 1 for FATAL, and for an
// exit the program's own status (128+N after signal N, as a shell says).
func exitPolicyCode(p *proc) int {
	c := p.cfg.Drover.Container
	switch {
	case c.HasExitDaemonCode:
		return c.ExitDaemonCode
	case p.state == Fatal:
		return 1
	case p.lastWait.Exited():
		return p.lastWait.ExitStatus()
	case p.lastWait.Signaled():
		return 128 + int(p.lastWait.Signal())
	}
	return 1
}
