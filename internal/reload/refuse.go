package reload

import (
	"errors"
	"fmt"
	"os"

	"github.com/drover-sh/drover/internal/config"

	"golang.org/x/sys/unix"
)

// ErrRefused is wrapped by Files between Refuse and Reopen.
var ErrRefused = errors.New("sockets refuse connections (no generation serves them)")

// Refuse makes s refuse new connections while no generation will serve
// them (the program is STOPPED or FATAL), instead of queuing them until
// the client gives up; the queued ones are reset. A TCP listener is shut
// down (shutdown(2) takes it out of LISTEN: connect gets ECONNREFUSED) but
// stays bound, so nobody else takes the port and Reopen listens again on
// it. A unix listener cannot listen again after shutdown, so it is closed
// and its file left in place (connect gets ECONNREFUSED too); Reopen binds
// a new one on the same path with the same mode and owner. It is a no-op
// on a closed or refused Set.
func (s *Set) Refuse() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.refused {
		return nil
	}
	s.refused = true
	var errs []error
	for _, b := range s.socks {
		if b.spec.Network == config.TCP {
			if err := unix.Shutdown(int(b.f.Fd()), unix.SHUT_RD); err != nil && !errors.Is(err, unix.ENOTCONN) {
				errs = append(errs, fmt.Errorf("refuse %s: %w", b.spec, os.NewSyscallError("shutdown", err)))
			}
			continue
		}
		if b.refs.Load() > 1 {
			continue // a Sibling's generation still serves it
		}
		if err := b.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("refuse %s: %w", b.spec, err))
		}
		b.f = nil
	}
	return errors.Join(errs...)
}

// Reopen undoes Refuse before a generation starts: the TCP listeners
// listen again on their port (a socket bound to port 0 gets its resolved
// port back by a new bind), the unix ones are bound again. A socket that
// cannot be reopened makes Files fail, so the spawn reports it.
func (s *Set) Reopen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || !s.refused {
		return nil
	}
	var errs []error
	ok := true
	for _, b := range s.socks {
		if err := s.reopen(b); err != nil {
			errs = append(errs, fmt.Errorf("reopen %s: %w", b.spec, err))
			ok = false
		}
	}
	s.refused = !ok
	return errors.Join(errs...)
}

func (s *Set) reopen(b *boundSocket) error {
	if b.spec.Network != config.TCP {
		if b.f != nil {
			return nil
		}
		nb, err := bindUnix(b.spec, s.opts)
		if err != nil {
			return err
		}
		b.f, b.dev, b.ino = nb.f, nb.dev, nb.ino
		return nil
	}
	fd := int(b.f.Fd())
	if err := unix.Listen(fd, s.backlog); err != nil {
		return os.NewSyscallError("listen", err)
	}
	// A port chosen by the kernel (bind to port 0) is released by the
	// shutdown, and listen picks another: bind the old one again.
	if sa, err := unix.Getsockname(fd); err == nil && portOf(sa) == int(b.ap.Port()) {
		return nil
	}
	nb, err := bindTCPAt(b.spec, b.ap, s.backlog)
	if err != nil {
		return err
	}
	_ = b.f.Close()
	b.f = nb.f
	return nil
}

func portOf(sa unix.Sockaddr) int {
	switch v := sa.(type) {
	case *unix.SockaddrInet4:
		return v.Port
	case *unix.SockaddrInet6:
		return v.Port
	}
	return -1
}
