package daemon_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// writeConfig replaces f's config file whole (temp file + rename), so a
// reread never sees half of it.
func (f *fixture) writeConfig(text string) {
	f.t.Helper()
	tmp := f.conf + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Rename(tmp, f.conf); err != nil {
		f.t.Fatal(err)
	}
}

// A restart (supervisorctl reload) creates the AUTO logs of the new
// supervisor in the new config's childlogdir: the AUTO names used to come
// from the old config's, while start-up clean-up ran on the new one.
func TestRestartCreatesAutoLogsInTheNewChildLogDir(t *testing.T) {
	f := start(t, program("web", "say:hello"))
	f.waitLine(`success: web entered RUNNING`)
	if old := f.info("web")["stdout_logfile"].(string); filepath.Dir(old) != f.dir {
		t.Fatalf("AUTO log %s not in childlogdir %s", old, f.dir)
	}
	newDir := t.TempDir()
	text := strings.Replace(f.config(program("web", "say:hello")), "childlogdir = "+f.dir, "childlogdir = "+newDir, 1)
	f.writeConfig(text)
	m := f.mark()
	f.call("supervisor.restart")
	f.waitLineAfter(m, `success: web entered RUNNING`)
	path := f.info("web")["stdout_logfile"].(string)
	if filepath.Dir(path) != newDir {
		t.Fatalf("after the restart the AUTO log is %s, not in the new childlogdir %s", path, newDir)
	}
	waitFile(t, path, "hello")
}

// 200 HUPs while the config keeps changing: updates run one at a time
// (each "applying" is followed by its "update:" before the next begins),
// nothing fails, and the last config is what runs.
func TestHUPStormAppliesInOrderWithoutOverlap(t *testing.T) {
	f := start(t, program("p0", "sleep", "autostart = false"))
	sections := program("p0", "sleep", "autostart = false")
	const n = 200
	for i := 1; i <= n; i++ {
		sections += program(fmt.Sprintf("p%d", i), "sleep", "autostart = false")
		f.writeConfig(f.config(sections))
		f.signalDaemon(syscall.SIGHUP)
	}
	// The last update added p200: its group exists once every HUP was
	// handled (later updates find nothing to do).
	f.waitLine(`update: added \[[^]]*\bp200\b`)
	f.call("supervisor.getProcessInfo", "p200")
	all := f.call("supervisor.getAllProcessInfo").([]any)
	if len(all) != n+1 {
		t.Fatalf("%d processes, want %d", len(all), n+1)
	}
	begin, end := regexp.MustCompile(`DEBG update: applying `), regexp.MustCompile(`INFO update: added `)
	open := false
	updates := 0
	for _, l := range strings.Split(f.log(), "\n") {
		switch {
		case begin.MatchString(l):
			if open {
				t.Fatalf("an update began before the previous one ended:\n%s", f.log())
			}
			open = true
			updates++
		case end.MatchString(l):
			if !open {
				t.Fatalf("an update ended that had not begun:\n%s", f.log())
			}
			open = false
		}
		if strings.Contains(l, "ERRO") || strings.Contains(l, "ALREADY_ADDED") {
			t.Errorf("error during the storm: %s", l)
		}
	}
	if updates == 0 || updates > n {
		t.Errorf("%d updates for %d HUPs", updates, n)
	}
	t.Logf("%d HUPs, %d updates", n, updates)
}

// A restart asked while an HUP's update waits for a slow stop: the update
// ends (SHUTDOWN_STATE) before the next supervisor starts, which runs the
// new config once.
func TestRestartDuringUpdateDoesNotOverlap(t *testing.T) {
	f := start(t, program("slow", "slow-stop:2s", "startsecs = 0"))
	f.waitLine(`^handling TERM`)
	f.writeConfig(f.config(program("slow", "slow-stop:2s", "startsecs = 0", "stopwaitsecs = 20")))
	m := f.mark()
	f.signalDaemon(syscall.SIGHUP)
	f.waitLineAfter(m, `killing slow`)
	f.call("supervisor.restart")
	f.waitLineAfter(m, `success: slow entered RUNNING`)
	lines := strings.Split(f.log(), "\n")[m:]
	updateEnd, respawn := -1, -1
	for i, l := range lines {
		if updateEnd < 0 && strings.Contains(l, "update: ") && !strings.Contains(l, "update: applying") {
			updateEnd = i
		}
		if respawn < 0 && strings.Contains(l, "spawned: 'slow'") {
			respawn = i
		}
	}
	if updateEnd < 0 || respawn < 0 || updateEnd > respawn {
		t.Fatalf("the update (line %d) did not end before the next supervisor spawned (line %d):\n%s",
			updateEnd, respawn, strings.Join(lines, "\n"))
	}
	if n := strings.Count(strings.Join(lines, "\n"), "spawned: 'slow'"); n != 1 {
		t.Fatalf("slow spawned %d times after the restart:\n%s", n, strings.Join(lines, "\n"))
	}
}
