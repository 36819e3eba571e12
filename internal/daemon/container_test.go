package daemon_test

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// containerConf is a nodaemon config whose [supervisord] section has the
// given extra lines and no logfile= unless they set one.
func containerConf(supervisord, sections string) func(f *fixture) string {
	return func(f *fixture) string {
		return fmt.Sprintf(`[supervisord]
nodaemon = true
pidfile = %[1]s/drover.pid
childlogdir = %[1]s
%[2]s

[unix_http_server]
file = %[1]s/drover.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

%[3]s`, f.dir, supervisord, sections)
	}
}

// exitCode sends TERM unless the daemon already ended, waits for its
// stdout to end and returns its exit code.
func (f *fixture) exitCode(term bool) int {
	f.t.Helper()
	if term {
		f.signalDaemon(syscall.SIGTERM)
	}
	select {
	case <-f.ended:
	case <-time.After(20 * time.Second):
		f.t.Fatalf("daemon did not exit within 20s; log:\n%s", f.log())
	}
	f.cmd.Wait()
	return f.cmd.ProcessState.ExitCode()
}

// With nodaemon, logfile=/dev/stdout (any spelling of drover's stdout or
// stderr) is written once, not once as the file and once as the echo.
func TestMainLogOnStdoutIsNotDoubled(t *testing.T) {
	for _, logfile := range []string{"/dev/stdout", "/proc/self/fd/1", "/dev/stderr", "%(here)s/main.log"} {
		t.Run(strings.NewReplacer("/", "_", "%", "").Replace(logfile), func(t *testing.T) {
			f := launch(t, containerConf("logfile = "+logfile+"\nlogfile_maxbytes = 0", program("web", "sleep", "startsecs = 0")), nil)
			f.waitLine(`success: web entered RUNNING`)
			if code := f.exitCode(true); code != 0 {
				t.Fatalf("exit code %d", code)
			}
			for _, re := range []string{`supervisord started with pid`, `success: web entered RUNNING`, `stopped: web `} {
				if n := f.count(re); n != 1 {
					t.Errorf("%d lines match %q, want 1; output:\n%s", n, re, f.log())
				}
			}
		})
	}
}
