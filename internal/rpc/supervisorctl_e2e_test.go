//go:build e2e

package rpc

import "testing"

// TestE2ERealSupervisorctl drives the real supervisorctl (Debian package
// supervisor 4.2.5) through its everyday commands against this server and
// the fake backend. About one second per command, hence the e2e tag.
func TestE2ERealSupervisorctl(t *testing.T) {
	e := newCtlEnv(t)
	out := e.run(3, "status") // 3: a listed process is stopped
	match(t, out, `(?m)^cat +RUNNING +pid 100, uptime 1 day, 1:01:01$`)
	match(t, out, `(?m)^g:a +STOPPED +Not started$`)
	match(t, out, `(?m)^g:b +RUNNING +pid 102, uptime`)
	match(t, e.run(0, "start", "g:a"), `(?m)^g:a: started$`)
	match(t, e.run(0, "stop", "cat"), `(?m)^cat: stopped$`)
	match(t, e.run(1, "stop", "nope"), `(?m)^nope: ERROR \(no such process\)$`)
	match(t, e.run(0, "tail", "cat"), `hello from cat\n␛\[32mgreen␛\[0m`)
	match(t, e.run(0, "pid"), `(?m)^4242$`)
	match(t, e.run(0, "pid", "g:b"), `(?m)^102$`)
	match(t, e.run(0, "avail"), `(?m)^cat +in use +auto +999:999$`)
	match(t, e.run(0, "version"), `(?m)^4\.2\.5$`)
	match(t, e.run(0, "signal", "HUP", "g:b"), `(?m)^g:b: signalled$`)
	match(t, e.run(0, "maintail"), `main log line`)
	match(t, e.run(0, "clear", "cat"), `(?m)^cat: cleared$`)
	tailFollow(t, e)
}
