package rpc

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// HandedListener is a control listener's socket as an in-place upgrade
// hands it to the next image of drover: connections that arrive meanwhile
// wait in its backlog instead of being refused.
type HandedListener struct {
	Section string `json:"section"`
	FD      int    `json:"fd"`
}

// Detached are the control listeners an upgrade took off: their sockets
// (Handed) and the servers still finishing their answers (Finish).
type Detached struct {
	Handed []HandedListener
	ls     []*listener
}

// Detach stops accepting on every listener without closing its socket: it
// returns a duplicate of each (close-on-exec). New connections queue in the
// backlogs until Attach (this image or the next) serves them; unix socket
// files stay. The answers being written go on: Finish waits for them.
func (s *Server) Detach() (*Detached, error) {
	s.mu.Lock()
	ls := s.listeners
	d := &Detached{ls: ls}
	for _, l := range ls {
		fd, err := dupListener(l.raw)
		if err != nil {
			s.mu.Unlock()
			for _, h := range d.Handed {
				_ = unix.Close(h.FD)
			}
			return nil, fmt.Errorf("rpc: detach [%s]: %w", l.cfg.Section, err)
		}
		d.Handed = append(d.Handed, HandedListener{Section: l.cfg.Section, FD: fd})
	}
	s.listeners = nil
	s.mu.Unlock()
	for _, l := range ls {
		if l.srv != nil {
			l.srv.Drain()
		}
		_ = l.ln.Close()
	}
	return d, nil
}

// dupListener duplicates ln's socket (close-on-exec), leaving ln as it is.
func dupListener(ln net.Listener) (int, error) {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return -1, errors.New("not a socket listener")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) { fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 3) }); err != nil {
		return -1, err
	}
	return fd, derr
}

// Finish waits (up to closeGrace) for the answers being written on the
// detached listeners' connections, then closes those connections.
func (d *Detached) Finish() {
	deadline := time.NewTimer(closeGrace)
	defer deadline.Stop()
	for _, l := range d.ls {
		if l.srv == nil {
			continue
		}
		select {
		case <-l.srv.Idle():
		case <-deadline.C:
			deadline.Reset(0)
		}
		_ = l.srv.Close()
	}
}

// Attach serves cfgs, taking the socket of each from handed (by section)
// where there is one, else binding it as Listen does; handed sockets no
// config names are closed. It is how the next image (or this one, when an
// upgrade did not happen) serves again after Detach.
func (s *Server) Attach(cfgs []ListenerConfig, handed []HandedListener) error {
	fds := map[string]int{}
	for _, h := range handed {
		fds[h.Section] = h.FD
	}
	var bound []*listener
	var errs []error
	for _, c := range cfgs {
		fd, ok := fds[c.Section]
		delete(fds, c.Section)
		var l *listener
		var err error
		if ok {
			l, err = adoptListener(c, fd)
		} else {
			l, err = s.bind(c)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		bound = append(bound, l)
	}
	for _, fd := range fds {
		_ = unix.Close(fd)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range bound {
		s.serveLocked(l)
	}
	return errors.Join(errs...)
}

func adoptListener(c ListenerConfig, fd int) (*listener, error) {
	f := os.NewFile(uintptr(fd), c.Section)
	ln, err := net.FileListener(f) // a duplicate, non-blocking
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("[%s]: adopt handed listener: %w", c.Section, err)
	}
	l := &listener{cfg: c, ln: ln, raw: ln}
	if c.Unix {
		ln.(*net.UnixListener).SetUnlinkOnClose(false)
		if fi, err := os.Lstat(c.File); err == nil {
			l.file = fi
		}
		return l, nil
	}
	if c.TLS != nil {
		tl, err := newTLSListener(*c.TLS)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("[%s]: %w", c.Section, err)
		}
		l.tls = tl
		l.ln = tls.NewListener(ln, tl.config())
	}
	return l, nil
}
