package daemon_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Real processes through the whole daemon: config → supervisor → spawn
// shim → reaper → log pump → XML-RPC. Exact timing is tested in
// internal/supervisor under synctest; here the order of real events is.

func TestStartsProgramsAndAMissingCommandIsFatalAlone(t *testing.T) {
	f := start(t, program("ok", "sleep")+
		"[program:missing]\ncommand = /nonexistent/drover-test-prog\nstartretries = 0\n")
	f.waitLine(`success: ok entered RUNNING state`)
	f.waitLine(`gave up: missing entered FATAL state`)
	if got := f.info("ok")["statename"]; got != "RUNNING" {
		t.Errorf("ok is %v, want RUNNING", got)
	}
	in := f.info("missing")
	if in["statename"] != "FATAL" || in["spawnerr"] != "can't find command '/nonexistent/drover-test-prog'" {
		t.Errorf("missing: state %v spawnerr %q", in["statename"], in["spawnerr"])
	}
}

func TestQuickExitsBackOffThenFatal(t *testing.T) {
	// startsecs well above a loaded machine's child start-up, so every
	// quick exit counts as one that failed to start.
	f := start(t, program("crash", "exit:1", "startsecs = 10", "startretries = 2"))
	f.waitLine(`gave up: crash entered FATAL state, too many start retries too quickly`)
	if n := f.count(`spawned: 'crash' with pid`); n != 3 {
		t.Errorf("%d spawns, want startretries+1 = 3\n%s", n, f.log())
	}
	if got := f.info("crash")["statename"]; got != "FATAL" {
		t.Errorf("state %v, want FATAL", got)
	}
}

func TestUnexpectedExitAfterRunningRestarts(t *testing.T) {
	f := start(t, program("flaky", "exit:3", "startsecs = 0", "autorestart = unexpected"))
	first := f.waitLine(`exited: flaky \(exit status 3; not expected\)`)
	f.waitLineAfter(f.mark(), `spawned: 'flaky' with pid`)
	if !strings.Contains(first, "WARN") {
		t.Errorf("unexpected exit logged as %q, want WARN", first)
	}
}

func TestExpectedExitStaysExited(t *testing.T) {
	f := start(t, program("once", "exit:0", "startsecs = 0", "autorestart = unexpected"))
	f.waitLine(`exited: once \(exit status 0; expected\)`)
	in := f.info("once")
	if in["statename"] != "EXITED" || in["exitstatus"] != 0 {
		t.Errorf("state %v exitstatus %v, want EXITED 0", in["statename"], in["exitstatus"])
	}
	// An automatic restart would make this ALREADY_STARTED (a fault).
	mark := f.mark()
	f.call("supervisor.startProcess", "once", false)
	f.waitLineAfter(mark, `spawned: 'once'`)
	if n := f.count(`spawned: 'once'`); n != 2 {
		t.Errorf("%d spawns, want 2 (autostart + the request)", n)
	}
}

func TestStopEscalatesToKill(t *testing.T) {
	f := start(t, program("stubborn", "ignore-term", "stopwaitsecs = 1", "startsecs = 0"))
	f.waitLine(`success: stubborn entered RUNNING`)
	// ignore-term prints once its handler is in place: wait for that line
	// in its log before stopping, so the TERM is really ignored.
	waitFile(t, f.info("stubborn")["stdout_logfile"].(string), "ignoring TERM")
	f.call("supervisor.stopProcess", "stubborn", true)
	f.waitLine(`killing 'stubborn' \(\d+\) with SIGKILL`)
	f.waitLine(`stopped: stubborn \(terminated by SIGKILL\)`)
}

func TestStopAsGroupKillsGrandchildren(t *testing.T) {
	dir := t.TempDir()
	withGroup := filepath.Join(dir, "with")
	without := filepath.Join(dir, "without")
	f := start(t, program("tree", "grandchild:"+withGroup, "stopasgroup = true", "startsecs = 0")+
		program("loose", "grandchild:"+without, "startsecs = 0"))
	waitFile(t, withGroup, "")
	waitFile(t, without, "")
	gpid := readPid(t, withGroup)
	lpid := readPid(t, without)
	t.Cleanup(func() { syscall.Kill(lpid, syscall.SIGKILL) })
	f.call("supervisor.stopProcess", "tree", true)
	f.call("supervisor.stopProcess", "loose", true)
	if !waitExit(t, gpid, 10*time.Second) {
		t.Errorf("grandchild %d of a stopasgroup program survived the stop", gpid)
	}
	// Without the group flag the grandchild escapes, as in supervisord.
	if err := syscall.Kill(lpid, 0); err != nil {
		t.Errorf("grandchild of a plain program is gone (%v); the test no longer shows the difference", err)
	}
}

func TestOrphansAreReapedAndLogged(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "orphan")
	f := start(t, program("parent", "orphan:"+pidfile, "startsecs = 0", "autorestart = false"))
	waitFile(t, pidfile, "")
	f.waitLine(`exited: parent \(exit status 0; expected\)`)
	opid := readPid(t, pidfile)
	syscall.Kill(opid, syscall.SIGUSR1)
	f.waitLine(`reaped unknown pid ` + strconv.Itoa(opid) + ` \(exit status 5\)`)
}

func TestShutdownStopsGroupsByDescendingPriority(t *testing.T) {
	f := start(t, program("first", "slow-stop:200ms", "priority = 10", "startsecs = 0")+
		program("second", "slow-stop:200ms", "priority = 20", "startsecs = 0")+
		program("third", "slow-stop:200ms", "priority = 30", "startsecs = 0"))
	for _, n := range []string{"first", "second", "third"} {
		f.waitLine(`success: ` + n + ` entered RUNNING`)
	}
	f.signalDaemon(syscall.SIGTERM)
	<-f.ended
	var order []string
	for _, l := range strings.Split(f.log(), "\n") {
		if i := strings.Index(l, "stopped: "); i >= 0 {
			order = append(order, strings.Fields(l[i+len("stopped: "):])[0])
		}
	}
	if strings.Join(order, ",") != "third,second,first" {
		t.Errorf("stop order %v, want third,second,first", order)
	}
}

func TestUSR2ReopensChildLogs(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.log")
	f := start(t, program("talker", "lines-on-usr1", "startsecs = 0", "stdout_logfile = "+out))
	waitFile(t, out, "ready")
	f.call("supervisor.signalProcess", "talker", "USR1")
	waitFile(t, out, "line 1")
	if err := os.Rename(out, out+".old"); err != nil { // as logrotate does
		t.Fatal(err)
	}
	f.signalDaemon(syscall.SIGUSR2)
	waitFile(t, out, "") // reopen creates the file anew
	f.call("supervisor.signalProcess", "talker", "USR1")
	waitFile(t, out, "line 2")
	if old, _ := os.ReadFile(out + ".old"); strings.Contains(string(old), "line 2") {
		t.Errorf("line 2 went to the rotated file after USR2")
	}
}

func TestHUPAppliesChangesAndKeepsUnchanged(t *testing.T) {
	f := start(t, program("keep", "sleep", "startsecs = 0")+program("change", "sleep", "startsecs = 0"))
	f.waitLine(`success: keep entered RUNNING`)
	f.waitLine(`success: change entered RUNNING`)
	keepPid := f.info("keep")["pid"]
	changePid := f.info("change")["pid"]
	next := program("keep", "sleep", "startsecs = 0") +
		program("change", "sleep", "startsecs = 0", "stopwaitsecs = 5") +
		program("added", "sleep", "startsecs = 0")
	if err := os.WriteFile(f.conf, []byte(f.config(next)), 0o644); err != nil {
		t.Fatal(err)
	}
	f.signalDaemon(syscall.SIGHUP)
	f.waitLine(`update: added \[added\], changed \[change\], removed \[\]`)
	f.waitLine(`success: added entered RUNNING`)
	if got := f.info("keep")["pid"]; got != keepPid {
		t.Errorf("unchanged program restarted: pid %v → %v", keepPid, got)
	}
	if got := f.info("change")["pid"]; got == changePid {
		t.Errorf("changed program kept pid %v", got)
	}
}

func TestHUPWithBrokenConfigKeepsRunning(t *testing.T) {
	f := start(t, program("steady", "sleep", "startsecs = 0"))
	f.waitLine(`success: steady entered RUNNING`)
	pid := f.info("steady")["pid"]
	broken := f.config(program("steady", "sleep", "startsecs = soon"))
	if err := os.WriteFile(f.conf, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	f.signalDaemon(syscall.SIGHUP)
	line := f.waitLine(`could not apply the configuration`)
	if !strings.Contains(line, f.conf+":") || !strings.Contains(line, "startsecs") {
		t.Errorf("error line lacks file:line and option: %q", line)
	}
	if in := f.info("steady"); in["pid"] != pid || in["statename"] != "RUNNING" {
		t.Errorf("steady changed: %v", in)
	}
}

func TestConfigErrorAtStartupExits2AndStartsNothing(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "supervisord.conf")
	marker := filepath.Join(dir, "started")
	os.WriteFile(conf, []byte("[supervisord]\nnodaemon = true\nlogfile = "+dir+"/main.log\n"+
		"[program:good]\ncommand = /usr/bin/touch "+marker+"\n"+
		"[program:bad]\ncommand = /bin/true\nautorestart = sometimes\n"), 0o644)
	cmd := exec.Command(droverBin, "run", "-c", conf)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit %v, want status 2; output %s", err, out)
	}
	if !strings.Contains(string(out), conf+":8:") || !strings.Contains(string(out), "autorestart") {
		t.Errorf("error does not name file:line and option: %s", out)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("a program ran although the config was rejected")
	}
}

func TestShutdownViaAPIReplies(t *testing.T) {
	f := start(t, program("p", "sleep", "startsecs = 0"))
	f.waitLine(`success: p entered RUNNING`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := f.client.Call(ctx, "supervisor.shutdown")
	if err != nil || v != true {
		t.Fatalf("shutdown: %v %v", v, err)
	}
	<-f.ended
	if _, err := os.Stat(f.sock); err == nil {
		t.Errorf("socket left behind after shutdown")
	}
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return pid
}

func TestSupervisordPersonalityTakesItsFlags(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "supervisord")
	if err := os.Symlink(droverBin, link); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "supervisord.conf")
	// nodaemon=false in the file: -n must keep it in the foreground.
	os.WriteFile(conf, []byte("[supervisord]\nlogfile = "+dir+"/main.log\npidfile = "+dir+"/d.pid\n"+
		"[program:once]\ncommand = /bin/true\nstartsecs = 0\nautorestart = false\n"), 0o644)
	cmd := exec.Command(link, "-c", conf, "-n")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, cmd: cmd, grow: make(chan struct{}), ended: make(chan struct{})}
	go f.read(out)
	t.Cleanup(f.stop)
	f.waitLine(`exited: once \(exit status 0; expected\)`)
}

func TestCommandLineOptionsOverrideTheFile(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "supervisord.conf")
	os.WriteFile(conf, []byte("[supervisord]\nlogfile = "+dir+"/file.log\npidfile = "+dir+"/d.pid\nloglevel = warn\n"+
		"[program:once]\ncommand = /bin/true\nstartsecs = 0\nautorestart = false\n"), 0o644)
	cmd := exec.Command(droverBin, "run", "-c", conf, "-n", "-l", dir+"/cli.log", "-e", "info", "-i", "cli-id")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, cmd: cmd, grow: make(chan struct{}), ended: make(chan struct{})}
	go f.read(out)
	t.Cleanup(f.stop)
	f.waitLine(`INFO exited: once`) // -e info beats loglevel = warn
	waitFile(t, dir+"/cli.log", "exited: once")
	if _, err := os.Stat(dir + "/file.log"); err == nil {
		t.Errorf("the file's logfile was used despite -l")
	}
}
