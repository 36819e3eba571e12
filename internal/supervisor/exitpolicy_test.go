package supervisor

import (
	"errors"
	"slices"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

func exitOn(on config.ExitDaemonOn, code ...int) func(*config.Process) {
	return func(p *config.Process) {
		p.Drover.Container.ExitDaemonOn = on
		if len(code) > 0 {
			p.Drover.Container.ExitDaemonCode, p.Drover.Container.HasExitDaemonCode = code[0], true
		}
	}
}

// runEnded waits for Run's result, reaping every process the shutdown
// signals (in the order signalled), and returns it with the stop order.
func (hs *harness) runEnded() ([]string, error) {
	hs.t.Helper()
	reaped := map[int]bool{}
	for range 50 {
		select {
		case err := <-hs.runErr:
			hs.runErr <- err // for the cleanup
			var order []string
			for _, s := range hs.stops() {
				order = append(order, s.name)
			}
			return order, err
		default:
		}
		for _, sg := range hs.h.signalList() {
			if !reaped[sg.pid] {
				reaped[sg.pid] = true
				hs.killed(sg.pid, sg.sig)
			}
		}
		time.Sleep(time.Second)
		synctest.Wait()
	}
	hs.t.Fatal("Run did not return")
	return nil, nil
}

// A program with exit_daemon_on=fatal that goes FATAL makes the daemon
// stop everything in shutdown order and Run return an *ExitPolicy with
// status 1 (or exit_daemon_code).
func TestExitPolicyFatal(t *testing.T) {
	for _, c := range []struct {
		name string
		opt  func(*config.Process)
		code int
	}{{"default code", exitOn(config.ExitDaemonFatal), 1}, {"exit_daemon_code", exitOn(config.ExitDaemonFatal, 7), 7}} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := cfgOf(grp("db", 1, prog("db")), grp("web", 10, prog("web", retries(0), c.opt)), grp("worker", 20, prog("worker")))
				hs := newHarness(t, cfg, nil)
				hs.exit(hs.lastPid("web"), 3) // too quickly: BACKOFF, FATAL (startretries=0)
				order, err := hs.runEnded()
				var pe *ExitPolicy
				if !errors.As(err, &pe) || pe.Code != c.code || pe.Name != "web" || pe.State != Fatal {
					t.Fatalf("Run: %v, want web's ExitPolicy with status %d", err, c.code)
				}
				if want := []string{"worker", "db"}; !slices.Equal(order, want) {
					t.Fatalf("stopped %v, want %v (reverse priority; web is down already)", order, want)
				}
				if !hs.log.has("ERROR+4 exiting: web entered FATAL and has exit_daemon_on=fatal; stopping everything, then exiting with status " + formatInt(c.code)) {
					t.Fatal(hs.log.lines)
				}
			})
		})
	}
}

// exit_daemon_on=exit: an exit with no restart due ends the daemon with the
// program's own status (128+N for signal N); an exit that is restarted
// does not, and neither does one with exit_daemon_on=fatal.
func TestExitPolicyExit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := cfgOf(
			grp("job", 1, prog("job", exitOn(config.ExitDaemonExit))),                                    // autorestart=unexpected
			grp("loop", 5, prog("loop", exitOn(config.ExitDaemonExit), restart(config.AutorestartTrue))), // always restarted
			grp("fatalonly", 6, prog("fatalonly", exitOn(config.ExitDaemonFatal), restart(config.AutorestartFalse))),
			grp("web", 10, prog("web")),
		)
		hs := newHarness(t, cfg, nil)
		hs.sleepUntil(2 * time.Second)
		hs.exit(hs.lastPid("loop"), 0)      // restarted at once: not the end
		hs.exit(hs.lastPid("fatalonly"), 0) // EXITED for good, but only FATAL counts
		hs.wantState("loop", Starting)
		hs.wantState("fatalonly", Exited)
		if err, ok := ready(t, hs.runErr); ok {
			t.Fatalf("Run returned %v after exits that do not end the daemon", err)
		}
		hs.exit(hs.lastPid("job"), 3) // unexpected: restarted, not the end
		hs.wantState("job", Starting)
		hs.sleepUntil(4 * time.Second)
		hs.killed(hs.lastPid("job"), syscall.SIGSEGV) // unexpected again: restarted
		hs.sleepUntil(6 * time.Second)
		hs.exit(hs.lastPid("job"), 0) // expected, autorestart=unexpected: the end
		order, err := hs.runEnded()
		var pe *ExitPolicy
		if !errors.As(err, &pe) || pe.Code != 0 || pe.Name != "job" || pe.State != Exited {
			t.Fatalf("Run: %v, want job's ExitPolicy with status 0", err)
		}
		if want := []string{"web", "loop"}; !slices.Equal(order, want) {
			t.Fatalf("stopped %v, want %v", order, want)
		}
	})
}

// The status after a death by signal N is 128+N.
func TestExitPolicySignalCode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(grp("job", 1, prog("job", exitOn(config.ExitDaemonExit), restart(config.AutorestartFalse)))), nil)
		hs.sleepUntil(2 * time.Second)
		hs.killed(hs.lastPid("job"), syscall.SIGKILL)
		_, err := hs.runEnded()
		var pe *ExitPolicy
		if !errors.As(err, &pe) || pe.Code != 128+9 {
			t.Fatalf("Run: %v, want status 137", err)
		}
	})
}
