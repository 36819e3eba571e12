//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// The programs of the template are this test binary re-run as a child
// (see childMain), so no other test's cleanup can mistake them for its own
// `sleep`s.

// talkerStdout and talkerStderr are written by the talker child: ESC
// sequences and bytes that are not UTF-8 among plain lines.
const (
	talkerStdout = "out line 1\nout \x1b[31mred\x1b[0m line 2\nbad \xff\xfe bytes line 3\n"
	talkerStderr = "err line 1\nerr \x1b[1mbold\x1b[0m line 2\n"
)

// childMain runs the test binary as a supervised program: "sleep" stays
// up until signalled; "talk", "capture" and "logline" write first.
func childMain(mode string) int {
	if mode == "zd-serve" {
		return serveMain(os.Args[3:])
	}
	if mode == "count" {
		return countMain()
	}
	if mode == "pid1" {
		return pid1Child(os.Args[3:])
	}
	switch mode {
	case "talk":
		os.Stdout.WriteString(talkerStdout)
		os.Stderr.WriteString(talkerStderr)
	case "capture": // capture mode's tokens (PROCESS_COMMUNICATION)
		os.Stdout.WriteString("before<!--XSUPERVISOR:BEGIN-->captured é<!--XSUPERVISOR:END-->after\n")
	case "logline": // one write (PROCESS_LOG)
		os.Stdout.WriteString("logged line\n")
	case "echo": // stdin to stdout (sendProcessStdin makes it log)
		io.Copy(os.Stdout, os.Stdin)
	case "numbered": // bulk numbered lines (splice capture)
		writeNumbered()
	}
	// A child program, not test synchronisation: it only has to stay up.
	time.Sleep(time.Hour)
	return 0
}

// childCmd is the command= line of a program running childMain(mode).
func childCmd(mode string) string {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0] // go test runs the binary by its absolute path
	}
	return exe + " " + childArg + " " + mode
}

// config is the one config template of the suite; each field is a
// variation the tests switch on (before start or for reread/update).
type config struct {
	// InetPort, if set, adds an [inet_http_server] on 127.0.0.1 with
	// user "user" and password "secret".
	InetPort int
	// SleeperChanged changes sleeper's command (a "changed" group).
	SleeperChanged bool
	// NoManual drops [program:manual] (a "removed" group).
	NoManual bool
	// Added adds [program:added] (an "added" group, autostarted).
	Added bool
	// Extra adds [program:extra] (for add/remove).
	Extra bool
	// GroupC changes gb's command inside [group:g] (a changed group).
	GroupC bool
	// Raw is appended as it is (e.g. a broken section).
	Raw string
	// Bare leaves out the template's programs: only the daemon sections
	// and Raw.
	Bare bool
	// Chmod is the unix socket's mode ("" for supervisord's 0700).
	Chmod string
	// Prefix runs the daemon under this command (ip netns exec NS: the
	// fleet test's hosts); it is not part of the config file.
	Prefix []string
}

func (c config) render() string {
	var b strings.Builder
	b.WriteString(`[unix_http_server]
file=%(here)s/supervisor.sock
`)
	if c.Chmod != "" {
		b.WriteString("chmod=" + c.Chmod + "\n")
	}
	b.WriteString(`
[supervisord]
logfile=%(here)s/supervisord.log
pidfile=%(here)s/supervisord.pid
childlogdir=%(here)s
identifier=e2e

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://%(here)s/supervisor.sock
`)
	if c.InetPort != 0 {
		fmt.Fprintf(&b, `
[inet_http_server]
port=127.0.0.1:%d
username=user
password=secret
`, c.InetPort)
	}
	if c.Bare {
		b.WriteString(c.Raw)
		return b.String()
	}
	sleeper, sleep := childCmd("sleep"), childCmd("sleep")
	if c.SleeperChanged {
		sleeper += " changed"
	}
	fmt.Fprintf(&b, `
[program:sleeper]
command=%s
startsecs=0

[program:quick]
command=true
startsecs=10
startretries=0

[program:missing]
command=/nonexistent/cmd
startretries=0

[program:talker]
command=%s
startsecs=0
`, sleeper, childCmd("talk"))
	if !c.NoManual {
		b.WriteString(`
[program:manual]
command=` + sleep + `
autostart=false
startsecs=0
`)
	}
	gb := sleep
	if c.GroupC {
		gb += " changed"
	}
	fmt.Fprintf(&b, `
[program:ga]
command=%s
startsecs=0

[program:gb]
command=%s
startsecs=0

[group:g]
programs=ga,gb
`, sleep, gb)
	if c.Added {
		b.WriteString(`
[program:added]
command=` + sleep + `
startsecs=0
`)
	}
	if c.Extra {
		b.WriteString(`
[program:extra]
command=` + sleep + `
startsecs=0
`)
	}
	b.WriteString(c.Raw)
	return b.String()
}

// writeConfig (re)writes the daemon's config file.
func (d *daemon) writeConfig(c config) {
	d.t.Helper()
	if err := os.WriteFile(d.conf, []byte(c.render()), 0o644); err != nil {
		d.t.Fatal(err)
	}
}

// freePort is a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startupLines are the log lines both daemons write once the template's
// autostart programs have settled.
var startupLines = []string{
	`success: ga entered RUNNING`,
	`success: gb entered RUNNING`,
	`success: sleeper entered RUNNING`,
	`success: talker entered RUNNING`,
	`gave up: quick entered FATAL`,
	`gave up: missing entered FATAL`,
}

// startPair starts supervisord and drover on copies of cfg and waits for
// both to settle.
func startPair(t *testing.T, cfg config, cfg2 config) (sup, drv *daemon) {
	t.Helper()
	sup = startDaemon(t, "supervisord", cfg)
	drv = startDaemon(t, "drover", cfg2)
	sup.waitLog(0, startupLines...)
	drv.waitLog(0, startupLines...)
	return sup, drv
}
