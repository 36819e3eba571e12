//go:build e2e

package e2e

import "testing"

// TestE2EInetAuth runs supervisorctl over [inet_http_server] with Basic
// auth against both daemons: no or a wrong password is refused with the
// same message and exit code, the right one works for RPC and tail -f.
func TestE2EInetAuth(t *testing.T) {
	needPeers(t)
	t.Parallel()
	sup, drv := startPair(t, config{InetPort: freePort(t)}, config{InetPort: freePort(t)})
	p := &pair{t: t, sup: sup, drv: drv}

	p.check("-s", "{inet}", "status")
	p.check("-s", "{inet}", "-u", "user", "-p", "wrong", "status")
	p.check("-s", "{inet}", "-u", "nobody", "-p", "secret", "status")
	p.check("-s", "{inet}", "-u", "user", "-p", "wrong", "version")
	p.check("-s", "{inet}", "-u", "user", "-p", "wrong", "tail", "talker", "stderr")
	p.check("-s", "{inet}", "-u", "user", "-p", "wrong", "maintail")
	p.checkFollow(1, "-s", "{inet}", "-u", "user", "-p", "wrong", "tail", "-f", "talker")

	p.check("-s", "{inet}", "-u", "user", "-p", "secret", "status")
	p.check("-s", "{inet}", "-u", "user", "-p", "secret", "version")
	p.check("-s", "{inet}", "-u", "user", "-p", "secret", "stop", "sleeper")
	p.check("-s", "{inet}", "-u", "user", "-p", "secret", "start", "sleeper")
	p.check("-s", "{inet}", "-u", "user", "-p", "secret", "tail", "-10", "talker", "stderr")
	p.checkFollow(2, "-s", "{inet}", "-u", "user", "-p", "secret", "tail", "-f", "talker", "stderr")
	// The unix socket of the same daemon needs no credentials.
	p.check("status", "sleeper")
	p.check("-s", "{inet}", "-u", "user", "-p", "secret", "shutdown")
	sup.waitExit()
	drv.waitExit()
	p.check("-s", "{inet}", "-u", "user", "-p", "secret", "status")
	t.Logf("%d steps matched", len(p.matched))
}
