package rpc

import (
	"net"

	"golang.org/x/sys/unix"
)

// Peer is who is on the other end of a unix socket connection, as the
// kernel says (SO_PEERCRED): it cannot be forged by the client.
type Peer struct {
	UID, GID, PID int
}

// peerOf reads c's peer credentials; ok is false for a connection that is
// not a unix socket.
func peerOf(c net.Conn) (Peer, bool) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return Peer{}, false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return Peer{}, false
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || cerr != nil {
		return Peer{}, false
	}
	return Peer{UID: int(cred.Uid), GID: int(cred.Gid), PID: int(cred.Pid)}, true
}
