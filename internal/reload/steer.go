package reload

import (
	"github.com/drover-sh/drover/internal/config"

	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Steering new connections during a blue/green hand-off.
//
// With one listening socket shared by two generations, the kernel wakes
// whichever process waits longest in accept(2), so the old generation
// keeps receiving new connections until it exits, and a server whose
// workers quit right after accept (Net::Server on HUP) drops some. So each
// generation started beside a live one gets its own TCP listener (Sibling)
// in the SO_REUSEPORT group of the serving one, and a one-instruction
// classic BPF program (Steer) picks the group member by index: the group
// array is in listen(2) order, a closed member's slot gets the last
// member, and an index past the end falls back to the hash.
//
// The daemon keeps the serving listener at index 0 with Steer(0) while a
// new generation boots (it sees no traffic until ready), Steer(1) once it
// is ready (the old one gets nothing new; Queued tells when the old queue
// is empty), and Steer(0) again after Retire removed the old listener.
// Unix sockets cannot form a reuseport group: Siblings share them.

// Sibling returns a Set for a generation started beside the holders of s:
// each TCP socket is a new listener bound to the same address (ephemeral
// ports resolved) that joins s's SO_REUSEPORT group at the end; each unix
// socket is s's own, shared (it stays open and its file stays until every
// Set holding it is closed). On error nothing is left open.
func (s *Set) Sibling() (*Set, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	out := &Set{backlog: s.backlog, opts: s.opts}
	for _, b := range s.socks {
		if b.spec.Network != config.TCP {
			b.refs.Add(1)
			out.socks = append(out.socks, b)
			continue
		}
		nb, err := bindTCPAt(b.spec, b.ap, s.backlog)
		if err != nil {
			_ = out.Close()
			return nil, fmt.Errorf("bind %s beside the serving listener: %w", b.spec, err)
		}
		out.socks = append(out.socks, nb)
	}
	return out, nil
}

// HasTCP reports whether s has a TCP socket (only those can be steered).
func (s *Set) HasTCP() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.socks {
		if b.spec.Network == config.TCP {
			return true
		}
	}
	return false
}

// Steer sends every new connection of each TCP socket's SO_REUSEPORT group
// to the member at index (listen order; the kernel's hash when index is
// past the last member). It replaces the group's program.
func (s *Set) Steer(index uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	prog := []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: index}}
	fp := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	var errs []error
	for _, b := range s.socks {
		if b.spec.Network != config.TCP {
			continue
		}
		if err := unix.SetsockoptSockFprog(int(b.f.Fd()), unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_CBPF, &fp); err != nil {
			errs = append(errs, fmt.Errorf("steer %s: %w", b.spec, os.NewSyscallError("setsockopt", err)))
		}
	}
	return errors.Join(errs...)
}

// Queued is the number of connections waiting in the accept queues of s's
// TCP listeners (TCP_INFO's tcpi_unacked on a listening socket). Shared
// unix sockets are not counted: both generations accept from them.
func (s *Set) Queued() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	return s.queuedLocked()
}

func (s *Set) queuedLocked() (int, error) {
	n := 0
	for _, b := range s.socks {
		if b.spec.Network != config.TCP {
			continue
		}
		ti, err := unix.GetsockoptTCPInfo(int(b.f.Fd()), unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			return n, fmt.Errorf("queue of %s: %w", b.spec, os.NewSyscallError("getsockopt", err))
		}
		n += int(ti.Unacked)
	}
	return n, nil
}

// Retire removes s's TCP listeners from their groups and closes s: it is
// for the Set of a generation whose main process is gone. shutdown(2)
// stops accept for every holder (workers of that generation still
// holding the socket included), so the kernel moves the group's last
// member into the freed slot at once. It returns how many connections
// were still queued there: they are reset unless net.ipv4.tcp_migrate_req
// is 1 (then the kernel hands them to another member).
func (s *Set) Retire() (queued int, err error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0, nil
	}
	queued, qerr := s.queuedLocked()
	var errs []error
	if qerr != nil {
		errs = append(errs, qerr)
	}
	for _, b := range s.socks {
		if b.spec.Network != config.TCP {
			continue
		}
		// ENOTCONN: already shut down by one of its holders.
		if err := unix.Shutdown(int(b.f.Fd()), unix.SHUT_RD); err != nil && !errors.Is(err, unix.ENOTCONN) {
			errs = append(errs, fmt.Errorf("retire %s: %w", b.spec, os.NewSyscallError("shutdown", err)))
		}
	}
	s.mu.Unlock()
	if err := s.Close(); err != nil {
		errs = append(errs, err)
	}
	return queued, errors.Join(errs...)
}
