package rpc

import (
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// The control API's limits: a flood of connections, silent or slow, can
// neither exhaust the daemon's descriptors (spawns need them: a program
// whose pipes fail goes FATAL) nor keep root out.
const (
	// headTimeout: a new connection must send its request head within
	// this; bodyTimeout bounds reading a body; idleTimeout a kept-alive
	// connection's wait for the next request.
	headTimeout = 10 * time.Second
	bodyTimeout = 30 * time.Second
	idleTimeout = 2 * time.Minute
	// rootReserve connections more are let in past a unix listener's cap
	// for root and the daemon's own user, so a local flood cannot lock
	// the administrator out.
	rootReserve = 16
)

// connCap is the connections one listener may hold at once, and the log
// streams the server may run: an eighth of the descriptors the daemon may
// open, at least 8, at most 512 (so 128 with nofile 1024, leaving the rest
// to children's pipes and logs).
func connCap() int {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return 64
	}
	return int(min(max(rl.Cur/8, 8), 512))
}

// admit is a listener's httpwire Admit: up to max connections; on a unix
// socket, root and the daemon's user get rootReserve more.
func admit(max int) func(c net.Conn, open int) bool {
	self := os.Geteuid()
	return func(c net.Conn, open int) bool {
		if open < max {
			return true
		}
		if p, ok := peerOf(c); ok && (p.UID == 0 || p.UID == self) {
			return open < max+rootReserve
		}
		return false
	}
}
