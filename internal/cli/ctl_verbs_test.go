package cli

import (
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// testPrograms is the fleet most client tests use: ok (running, writes
// one line to each log), cat (running, echoes stdin), idle and quick
// (not started; quick exits at once), and group grp with a (running)
// and b (not started).
func testPrograms() string {
	return program("ok", "echo:hello-ok") +
		program("cat", "cat") +
		program("idle", "sleep", "autostart=false") +
		program("quick", "exit:1", "autostart=false", "startsecs=1", "startretries=0") +
		"[group:grp]\nprograms=a,b\n" +
		program("a", "sleep") +
		program("b", "sleep", "autostart=false")
}

func startTestDaemon(t *testing.T) *testDaemon {
	return startDaemon(t, "", testPrograms(), "ok", "cat", "a")
}

func TestCtlProcessVerbs(t *testing.T) {
	t.Parallel()
	d := startTestDaemon(t)
	run := func(args ...string) runResult {
		t.Helper()
		return ctlRun(t, "", append([]string{"-c", d.conf}, args...)...)
	}
	line := func(name, state string) string {
		return `(?m)^` + regexp.QuoteMeta(name) + ` +` + state + ` +`
	}

	t.Run("status", func(t *testing.T) {
		r := run("status")
		expect(t, r, 3, line("ok", "RUNNING")+`pid \d+, uptime \d+:\d\d:\d\d$`)
		expect(t, r, 3, line("idle", "STOPPED")+`Not started$`)
		expect(t, r, 3, line("grp:a", "RUNNING"))
		if !strings.HasPrefix(r.out, "cat                              RUNNING   pid ") {
			t.Errorf("column layout differs from supervisorctl's:\n%s", r.out)
		}
		expect(t, run("status", "ok", "grp:a"), 0, `(?s)^ok .*\ngrp:a .*RUNNING`)
		expect(t, run("status", "grp:*"), 3, `(?s)^grp:a .*\ngrp:b .*STOPPED`)
		expect(t, run("status", "nope", "ok"), 4, `(?s)^nope: ERROR \(no such process\)\nok `)
		expect(t, run("status", "zz:*"), 4, `^zz: ERROR \(no such group\)\n$`)
		expect(t, run("status", "all", "nope"), 3, `ok `)
	})

	t.Run("status --json", func(t *testing.T) {
		r := run("status", "--json", "ok", "nope")
		if r.code != 4 || !strings.Contains(r.err, "nope: ERROR (no such process)") {
			t.Errorf("exit %d, stderr %q", r.code, r.err)
		}
		var infos []map[string]any
		if err := json.Unmarshal([]byte(r.out), &infos); err != nil {
			t.Fatalf("%v: %s", err, r.out)
		}
		if len(infos) != 1 {
			t.Fatalf("got %d entries", len(infos))
		}
		for _, k := range []string{"name", "group", "start", "stop", "now", "state", "statename", "spawnerr",
			"exitstatus", "logfile", "stdout_logfile", "stderr_logfile", "pid", "description"} {
			if _, ok := infos[0][k]; !ok {
				t.Errorf("status --json lacks %q: %v", k, infos[0])
			}
		}
		if infos[0]["name"] != "ok" || infos[0]["statename"] != "RUNNING" || infos[0]["state"] != float64(20) {
			t.Errorf("status --json: %v", infos[0])
		}
		if r := run("status", "--json", "zz:*"); r.out != "[]\n" || r.code != 4 {
			t.Errorf("empty selection: %q, exit %d", r.out, r.code)
		}
	})

	t.Run("start", func(t *testing.T) {
		expect(t, run("start", "idle"), 0, `^idle: started\n$`)
		expect(t, run("start", "idle"), 0, `^idle: ERROR \(already started\)\n$`)
		expect(t, run("start", "quick"), 7, `^quick: ERROR \((spawn error|abnormal termination)\)\n$`)
		expect(t, run("start", "nope"), 1, `^nope: ERROR \(no such process\)\n$`)
		expect(t, run("start", "zz:*"), 2, `^zz: ERROR \(no such group\)\n$`)
		expect(t, run("start"), 2, `^Error: start requires a process name\nstart <name>`)
		expect(t, run("start", "grp:*"), 0, `^grp:b: started\n$`)
		expect(t, run("start", "all"), 7, `(?m)^quick: ERROR \((spawn error|abnormal termination)\)$`)
	})

	t.Run("stop", func(t *testing.T) {
		expect(t, run("stop", "idle"), 0, `^idle: stopped\n$`)
		expect(t, run("stop", "idle"), 0, `^idle: ERROR \(not running\)\n$`)
		expect(t, run("stop", "nope", "grp:b"), 1, `^nope: ERROR \(no such process\)\ngrp:b: stopped\n$`)
		expect(t, run("stop", "zz:*"), 1, `^zz: ERROR \(no such group\)\n$`)
		expect(t, run("stop"), 1, `^Error: stop requires a process name\n`)
		expect(t, run("stop", "grp:*"), 0, `^grp:a: stopped\n$`)
	})

	t.Run("restart", func(t *testing.T) {
		expect(t, run("restart", "grp:*"), 0, `^grp:a: started\ngrp:b: started\n$`)
		expect(t, run("restart", "grp:a"), 0, `^grp:a: stopped\ngrp:a: started\n$`)
		expect(t, run("restart"), 1, `^Error: restart requires a process name\n`)
		expect(t, run("stop", "grp:b"), 0, `stopped`)
	})

	t.Run("signal", func(t *testing.T) {
		// Go programs ignore SIGWINCH, so "ok" survives it.
		expect(t, run("signal", "WINCH", "ok", "grp:*"), 0, `^ok: signalled\ngrp:a: signalled\n$`)
		expect(t, run("signal", "WINCH", "idle"), 7, `^idle: ERROR \(not running\)\n$`)
		expect(t, run("signal", "NOSUCHSIG", "ok"), 1, `^ok: ERROR \(bad signal name\)\n$`)
		expect(t, run("signal", "HUP", "zz:*"), 1, `^zz: ERROR \(no such group\)\n$`)
		expect(t, run("signal", "HUP"), 1, `^Error: signal requires a signal name and a process name\n`)
	})

	t.Run("pid", func(t *testing.T) {
		expect(t, run("pid"), 0, `^`+strconv.Itoa(d.cmd.Process.Pid)+`\n$`)
		expect(t, run("pid", "ok"), 0, `^[1-9]\d*\n$`)
		expect(t, run("pid", "idle"), 7, `^0\n$`)
		expect(t, run("pid", "nope"), 1, `^No such process nope\n$`)
		r := run("pid", "all")
		expect(t, r, 0, `^(\d+\n){6}$`)
		var one map[string]int
		if err := json.Unmarshal([]byte(run("pid", "--json").out), &one); err != nil || one["pid"] != d.cmd.Process.Pid {
			t.Errorf("pid --json: %v %v", one, err)
		}
		var many []pidJSON
		r = run("pid", "--json", "ok", "nope")
		if err := json.Unmarshal([]byte(r.out), &many); err != nil || len(many) != 1 || many[0].Name != "ok" || many[0].PID == 0 {
			t.Errorf("pid --json ok: %v %v %q", many, err, r.out)
		}
		if r.code != 1 || !strings.Contains(r.err, "No such process nope") {
			t.Errorf("pid --json nope: exit %d stderr %q", r.code, r.err)
		}
		if err := json.Unmarshal([]byte(run("pid", "--json", "all").out), &many); err != nil || len(many) != 6 {
			t.Errorf("pid --json all: %v %v", many, err)
		}
	})

	t.Run("tail", func(t *testing.T) {
		d.waitLog("ok", "stdout", "hello-ok\n")
		d.waitLog("ok", "stderr", "err:hello-ok\n")
		expect(t, run("tail", "ok"), 0, `^hello-ok\n\n$`)
		expect(t, run("tail", "ok", "stderr"), 0, `^err:hello-ok\n\n$`)
		expect(t, run("tail", "ok", "STDERR"), 0, `^err:hello-ok\n\n$`)
		expect(t, run("tail", "-3", "ok"), 0, `^ok\n\n$`)
		expect(t, run("tail", "nope"), 1, `^nope: ERROR \(no such process name\)\n$`)
		expect(t, run("tail", "ok", "stdsomething"), 1, `^Error: bad channel 'stdsomething'\n$`)
		expect(t, run("tail", "-x", "ok"), 1, `^Error: bad argument -x\n$`)
		expect(t, run("tail", "-f"), 1, `^Error: tail requires process name\n$`)
		expect(t, run("tail"), 1, `^Error: too few arguments\ntail \[-f\]`)
		expect(t, run("tail", "a", "b", "c", "d"), 1, `^Error: too many arguments\n`)
	})

	t.Run("maintail", func(t *testing.T) {
		expect(t, run("maintail"), 0, `(?m)^\d{4}-\d\d-\d\d [\d:,]+ INFO `)
		expect(t, run("maintail", "-1000000"), 0, `supervisord started with pid`)
		r := run("maintail", "-20")
		if r.code != 0 || len(r.out) != 21 {
			t.Errorf("maintail -20: exit %d, %q", r.code, r.out)
		}
		expect(t, run("maintail", "x"), 1, `^Error: bad argument x\n$`)
		expect(t, run("maintail", "-1", "-2"), 1, `^Error: too many arguments\n`)
	})

	t.Run("clear", func(t *testing.T) {
		expect(t, run("clear", "ok", "nope"), 1, `^ok: cleared\nnope: ERROR \(no such process\)\n$`)
		expect(t, run("tail", "ok"), 0, `^\n$`)
		expect(t, run("clear"), 1, `^Error: clear requires a process name\n`)
		expect(t, run("clear", "all"), 0, `(?m)^grp:a: cleared$`)
	})

	t.Run("avail", func(t *testing.T) {
		r := run("avail")
		expect(t, r, 0, `(?m)^grp:a {28}in use    auto      999:999$`)
		expect(t, r, 0, `(?m)^idle {29}in use    manual    999:999$`)
		var infos []map[string]any
		if err := json.Unmarshal([]byte(run("avail", "--json").out), &infos); err != nil || len(infos) != 6 {
			t.Fatalf("avail --json: %v %v", infos, err)
		}
		for _, k := range []string{"name", "group", "inuse", "autostart", "command", "group_prio", "process_prio", "stdout_logfile"} {
			if _, ok := infos[0][k]; !ok {
				t.Errorf("avail --json lacks %q: %v", k, infos[0])
			}
		}
		expect(t, run("avail", "x"), 1, `^Error: avail accepts no arguments\n`)
	})

	t.Run("version", func(t *testing.T) {
		expect(t, run("version"), 0, `^\S+\n$`)
		expect(t, run("version", "x"), 1, `^Error: version accepts no arguments\n`)
	})

	t.Run("usage", func(t *testing.T) {
		expect(t, run("status", "-h"), 0, `^status <name>\t\tGet status`)
		r := run("start", "--json", "ok")
		if r.code != 2 || !strings.Contains(r.err, "start does not accept --json") {
			t.Errorf("start --json: exit %d stderr %q", r.code, r.err)
		}
		expect(t, run("frobnicate"), 1, `^\*\*\* Unknown syntax: frobnicate\n$`)
		expect(t, run("help"), 0, `default commands \(type help <topic>\):`)
		expect(t, run("help", "tail"), 0, `^tail \[-f\] <name>`)
	})
}

// TestCtlConfigVerbs covers reread, avail after a reread, add, remove
// and update as the config file changes.
func TestCtlConfigVerbs(t *testing.T) {
	t.Parallel()
	base := program("keep", "sleep") + program("gone", "sleep") + program("chg", "sleep")
	d := startDaemon(t, "", base, "keep", "gone", "chg")
	run := func(args ...string) runResult {
		t.Helper()
		return ctlRun(t, "", append([]string{"-c", d.conf}, args...)...)
	}
	expect(t, run("reread"), 0, `^No config updates to processes\n$`)
	expect(t, run("update"), 0, `^$`)

	d.writeConfig("", program("keep", "sleep")+program("chg", "sleep", "stopwaitsecs=6")+program("new", "sleep")+program("new2", "sleep"))
	expect(t, run("reread"), 0, `^chg: changed\ngone: disappeared\nnew: available\nnew2: available\n$`)
	expect(t, run("reread", "x"), 1, `^Error: reread accepts no arguments\n`)
	expect(t, run("avail"), 0, `(?m)^new {30}avail     auto      999:999$`)

	expect(t, run("add", "new", "nope"), 1, `^new: added process group\nERROR: no such process/group: nope\n$`)
	expect(t, run("add", "new"), 0, `^ERROR: process group already active\n$`)
	d.waitLine(0, `success: new entered RUNNING`)
	expect(t, run("remove", "new"), 1, `^ERROR: process/group still running: new\n$`)
	expect(t, run("remove", "nope"), 1, `^ERROR: no such process/group: nope\n$`)
	expect(t, run("stop", "new"), 0, `stopped`)
	expect(t, run("remove", "new"), 0, `^new: removed process group\n$`)

	expect(t, run("update", "chg", "nope"), 1, `^ERROR: no such group: nope\nchg: stopped\nchg: updated process group\n$`)
	expect(t, run("update", "all"), 0, `^gone: stopped\ngone: removed process group\nnew: added process group\nnew2: added process group\n$`)
	expect(t, run("reread"), 0, `^No config updates to processes\n$`)

	d.writeConfig("", "[program:bad]\ncommand=x\nautostart=maybe\n")
	expect(t, run("reread"), 1, `^ERROR: CANT_REREAD: `)
}

// TestCtlShutdownAndReload ends a daemon through the client and checks
// what the client says about a daemon that is gone.
func TestCtlShutdownAndReload(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "", program("ok", "sleep"), "ok")
	run := func(args ...string) runResult {
		t.Helper()
		return ctlRun(t, "", append([]string{"-c", d.conf}, args...)...)
	}
	expect(t, run("reload", "x"), 1, `^Error: reload accepts no arguments\n`)
	m := d.mark()
	expect(t, run("reload"), 0, `^Restarted supervisord\n$`)
	d.waitLine(m, `success: ok entered RUNNING`)
	// In the shell, reload and shutdown ask first; "n" keeps the daemon.
	expect(t, ctlRun(t, "reload\nn\nshutdown\nno\n", "-c", d.conf), 0,
		`Really restart the remote supervisord process y/N\? (?s:.*)Really shut the remote supervisord process down y/N\? `)
	expect(t, run("status", "ok"), 0, `RUNNING`)

	expect(t, run("shutdown", "x"), 1, `^Error: shutdown accepts no arguments\n`)
	expect(t, run("shutdown"), 0, `^Shut down\n$`)
	d.waitExit()
	url := "unix://" + d.sock
	expect(t, run("status"), 4, `^`+regexp.QuoteMeta(url)+` no such file\n$`)
	expect(t, run("start", "ok"), 7, `^`+regexp.QuoteMeta(url)+` no such file\n$`)
	expect(t, run("shutdown"), 1, `^ERROR: `+regexp.QuoteMeta(url)+` no such file \(already shut down\?\)\n$`)
	expect(t, run("reread"), 1, `^error: `+regexp.QuoteMeta(url)+` no such file\n$`)
}

// TestCtlNoServer checks the messages and exit statuses without a
// server: a missing socket file and a refused TCP connection.
func TestCtlNoServer(t *testing.T) {
	t.Parallel()
	sock := "unix://" + t.TempDir() + "/none.sock"
	for _, c := range []struct {
		args []string
		code int
		re   string
	}{
		{[]string{"status"}, 4, ` no such file\n$`},
		{[]string{"start", "x"}, 7, ` no such file\n$`},
		{[]string{"version"}, 7, ` no such file\n$`},
		{[]string{"avail"}, 1, `^error: .* no such file\n$`},
		{[]string{"update"}, 1, `^error: .* no such file\n$`},
		{[]string{"reload"}, 1, `^error: .* no such file\n$`},
	} {
		expect(t, ctlRun(t, "", append([]string{"-s", sock}, c.args...)...), c.code, c.re)
	}
	// With --json, stdout carries only JSON: the message goes to stderr.
	if r := ctlRun(t, "", "-s", sock, "status", "--json"); r.code != 4 || r.out != "" || !strings.HasSuffix(r.err, " no such file\n") {
		t.Errorf("status --json without server: %+v", r)
	}
	url := "http://" + closedPort(t)
	expect(t, ctlRun(t, "", "-s", url, "status"), 4, `^`+regexp.QuoteMeta(url)+` refused connection\n$`)
	expect(t, ctlRun(t, "", "-s", url, "stop", "x"), 4, ` refused connection\n$`)
	expect(t, ctlRun(t, "", "-s", url, "shutdown"), 1, `^ERROR: `+regexp.QuoteMeta(url)+` refused connection \(already shut down\?\)\n$`)
}

// TestCtlAuth checks Basic auth: without credentials the server answers
// 401 and the client says so; with -u/-p (or [supervisorctl]) it works.
func TestCtlAuth(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "username=admin\npassword=s3cret\n", program("ok", "echo:auth-ok"), "ok")
	expect(t, ctlRun(t, "", "-c", d.conf, "status"), 1, `^Server requires authentication\n$`)
	expect(t, ctlRun(t, "", "-c", d.conf, "-u", "admin", "-p", "wrong", "status"), 1, `^Server requires authentication\n$`)
	expect(t, ctlRun(t, "", "-c", d.conf, "-u", "admin", "-p", "s3cret", "status"), 0, `^ok +RUNNING`)
	d.waitLog("ok", "stdout", "auth-ok\n")
	expect(t, ctlRun(t, "", "-c", d.conf, "-u", "admin", "-p", "s3cret", "tail", "ok"), 0, `^auth-ok\n`)
	// The shell asks for credentials and retries.
	r := ctlRun(t, "admin\ns3cret\n", "-c", d.conf)
	expect(t, r, 0, `(?s)^Server requires authentication\nUsername:Password:\nok +RUNNING`)
	conf := d.conf + ".auth"
	text, _ := os.ReadFile(d.conf)
	os.WriteFile(conf, []byte(strings.Replace(string(text), "[supervisorctl]\n", "[supervisorctl]\nusername=admin\npassword=s3cret\n", 1)), 0o644)
	expect(t, ctlRun(t, "", "-c", conf, "status"), 0, `^ok +RUNNING`)
}
