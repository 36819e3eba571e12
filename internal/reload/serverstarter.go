package reload

import (
	"strconv"
	"strings"
)

// ServerStarterPort formats SERVER_STARTER_PORT for sockets passed as fds
// 3, 4, ... in the order of sets (a program's Set, then a generation's probe
// Set): entries "ADDR=FD" joined by ";", where ADDR is "host:port" for IPv4,
// "[host]:port" for IPv6 and the path for a unix socket, exactly as
// Server::Starter 0.35's start_server writes them (see its Starter.pm:
// "$hostport=$fd", join ";"), e.g. "127.0.0.1:8080=3;/run/app.sock=4".
// Consumers (Server::Starter::server_ports, Net::Server::SS::PreFork used by
// starman) split on ";" and on the first "=", so order does not matter.
// Ephemeral ports are written as bound. starman (through
// Net::Server::SS::PreFork) opens every entry as a TCP socket, so
// connections on a unix socket entry are reset (seen with starman 0.4016):
// give starman TCP sockets only.
func ServerStarterPort(sets ...*Set) string {
	var b strings.Builder
	fd := 3
	for _, s := range sets {
		if s == nil {
			continue
		}
		for _, a := range s.Addrs() {
			if b.Len() > 0 {
				b.WriteByte(';')
			}
			b.WriteString(a)
			b.WriteByte('=')
			b.WriteString(strconv.Itoa(fd))
			fd++
		}
	}
	return b.String()
}

// ServerStarterEnv returns the SERVER_STARTER_PORT and
// SERVER_STARTER_GENERATION entries ("KEY=value") for generation gen.
// start_server numbers its workers from 1 (it sets 0, then increments before
// every fork), so the first generation is 1.
func ServerStarterEnv(gen int, sets ...*Set) []string {
	return []string{
		"SERVER_STARTER_PORT=" + ServerStarterPort(sets...),
		"SERVER_STARTER_GENERATION=" + strconv.Itoa(gen),
	}
}
