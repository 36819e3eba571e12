package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/drover-sh/drover/internal/httpwire"
)

// ListenerConfig is one [unix_http_server*] or [inet_http_server*]
// section.
type ListenerConfig struct {
	// Section names the config section in messages, e.g.
	// "inet_http_server".
	Section string
	// Unix selects a unix socket at File; otherwise TCP at Port.
	Unix bool
	// File is the socket path (unix).
	File string
	// Chmod is the socket mode (unix); 0 means 0700.
	Chmod os.FileMode
	// UID and GID chown the socket (unix); -1 leaves them unchanged.
	UID, GID int
	// Port is the [inet_http_server] port value: "host:port", ":port",
	// "*:port" or a bare "port" (empty or * host: all interfaces).
	Port string
	Credentials
	// TLS, when set, makes the inet listener speak HTTPS only.
	TLS *TLSFiles
}

// ErrAddrInUse is wrapped when another live server owns the address.
var ErrAddrInUse = syscall.EADDRINUSE

// ParsePort turns an [inet_http_server] port value into a
// net.Listen address.
func ParsePort(v string) (string, error) {
	v = strings.TrimSpace(v)
	host, port := "", v
	if i := strings.LastIndex(v, ":"); i >= 0 {
		host, port = v[:i], v[i+1:]
	}
	if host == "*" {
		host = ""
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return "", fmt.Errorf("invalid port %q in %q", port, v)
	}
	return net.JoinHostPort(host, strconv.Itoa(n)), nil
}

type listener struct {
	cfg  ListenerConfig
	ln   net.Listener
	srv  *httpwire.Server
	file os.FileInfo  // unix: the socket we linked, to remove only our own
	tls  *tlsListener // inet with TLS
	raw  net.Listener // ln without TLS: its socket is what Detach hands over
}

// Listen binds every configured server and starts serving them. On any
// error, listeners already bound are closed again and nothing is left
// behind. A live unix socket at File is never replaced (ErrAddrInUse); a
// stale one is.
func (s *Server) Listen(cfgs []ListenerConfig) error {
	select {
	case <-s.done:
		return errors.New("rpc: Listen on a closed Server")
	default:
	}
	var bound []*listener
	for _, c := range cfgs {
		l, err := s.bind(c)
		if err != nil {
			for _, b := range bound {
				b.close()
			}
			return err
		}
		bound = append(bound, l)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range bound {
		s.serveLocked(l)
	}
	return nil
}

// serveLocked starts serving l (s.mu held).
func (s *Server) serveLocked(l *listener) {
	readOnly := s.reportAuth(l)
	l.srv = &httpwire.Server{
		Handler:           s.Handler(l.cfg.Credentials, readOnly, l.cfg.Unix),
		ConnContext:       func(ctx context.Context, c net.Conn) context.Context { return withTLSConn(connContext(ctx, c), c) },
		ReadHeaderTimeout: headTimeout,
		BodyTimeout:       bodyTimeout,
		IdleTimeout:       idleTimeout,
		Admit:             admit(s.maxConns),
		Log:               s.log,
	}
	s.listeners = append(s.listeners, l)
	go func() {
		if err := l.srv.Serve(l.ln); err != nil && !errors.Is(err, httpwire.ErrServerClosed) {
			s.log.Error("HTTP server stopped", "section", l.cfg.Section, "err", err)
		}
	}()
}

// Addrs returns the bound addresses (for tests and start-up messages).
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]net.Addr, len(s.listeners))
	for i, l := range s.listeners {
		out[i] = l.ln.Addr()
	}
	return out
}

// reportAuth logs how a listener is protected and decides whether it is
// read-only: an inet listener without credentials that is reachable from
// other hosts serves only read-only methods (supervisord would serve
// everything, which is how CVE-2017-11610 and #1245 hurt people).
func (s *Server) reportAuth(l *listener) bool {
	return reportAuth(s.log, l.cfg, l.ln.Addr())
}

func reportAuth(log *slog.Logger, cfg ListenerConfig, a net.Addr) bool {
	if cfg.Unix || cfg.Enabled() || (cfg.TLS != nil && cfg.TLS.ClientCA != "") {
		return false // a verified client certificate authenticates too
	}
	addr, _ := a.(*net.TCPAddr)
	if addr != nil && addr.IP.IsLoopback() {
		log.Warn("HTTP server has no authentication; any local user can control processes",
			"section", cfg.Section, "addr", addr.String())
		return false
	}
	port := "9001"
	if addr != nil {
		port = strconv.Itoa(addr.Port)
	}
	log.Error(fmt.Sprintf("[%s] listens on %s without username/password: serving READ-ONLY methods only "+
		"(status, logs). To allow start/stop/etc. set username= and password= (or password={SHA}<sha1 hex>) "+
		"in [%s], or bind to loopback with port=127.0.0.1:%s",
		cfg.Section, a, cfg.Section, port), "section", cfg.Section)
	return true
}

func (s *Server) bind(c ListenerConfig) (*listener, error) {
	if !c.Unix {
		addr, err := ParsePort(c.Port)
		if err != nil {
			return nil, fmt.Errorf("[%s]: %w", c.Section, err)
		}
		var tl *tlsListener
		if c.TLS != nil {
			var err error
			if tl, err = newTLSListener(*c.TLS); err != nil {
				return nil, fmt.Errorf("[%s]: %w", c.Section, err)
			}
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("[%s]: listen on %s: %w", c.Section, addr, err)
		}
		raw := ln
		if tl != nil {
			ln = tls.NewListener(ln, tl.config())
		}
		return &listener{cfg: c, ln: ln, tls: tl, raw: raw}, nil
	}
	return bindUnix(c)
}

// bindUnix binds <file>.<pid>, sets its mode and owner, then hard-links
// it to <file>, so the public name never exists with the wrong
// permissions and a live server's socket is never unlinked.
func bindUnix(c ListenerConfig) (*listener, error) {
	if c.File == "" {
		return nil, fmt.Errorf("[%s]: no socket file", c.Section)
	}
	mode := c.Chmod
	if mode == 0 {
		mode = 0o700
	}
	tmp := fmt.Sprintf("%s.%d", c.File, os.Getpid())
	_ = os.Remove(tmp)
	ln, err := net.Listen("unix", tmp)
	if err != nil {
		return nil, fmt.Errorf("[%s]: bind %s: %w", c.Section, tmp, err)
	}
	ul := ln.(*net.UnixListener)
	ul.SetUnlinkOnClose(false)
	defer os.Remove(tmp)
	fail := func(err error) (*listener, error) {
		ul.Close()
		return nil, fmt.Errorf("[%s]: %w", c.Section, err)
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return fail(err)
	}
	if c.UID >= 0 || c.GID >= 0 {
		if err := os.Chown(tmp, c.UID, c.GID); err != nil {
			return fail(fmt.Errorf("chown socket %s to %d:%d (adjust chown= in [%s]): %w", c.File, c.UID, c.GID, c.Section, err))
		}
	}
	for attempt := 0; ; attempt++ {
		err := os.Link(tmp, c.File)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) || attempt == 3 {
			return fail(fmt.Errorf("link socket %s: %w", c.File, err))
		}
		if socketAlive(c.File) {
			return fail(fmt.Errorf("another server is already listening on %s: %w", c.File, ErrAddrInUse))
		}
		if err := os.Remove(c.File); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fail(fmt.Errorf("remove stale socket %s: %w", c.File, err))
		}
	}
	fi, err := os.Lstat(c.File)
	if err != nil {
		return fail(err)
	}
	return &listener{cfg: c, ln: ln, file: fi, raw: ln}, nil
}

// socketAlive reports whether a server may still own path. Only a refused
// connect (or no socket there) proves it stale: a daemon that is frozen,
// out of descriptors or behind a full accept queue does not answer, and
// taking its socket over would start a second copy of every program.
// supervisord refuses there too.
func socketAlive(path string) bool {
	conn, err := net.DialTimeout("unix", path, 2*time.Second)
	if err == nil {
		conn.Close()
		return true
	}
	return !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.ENOENT)
}

// close stops serving and removes the unix socket if it is still ours.
func (l *listener) close() { l.stop(false) }

// stop closes l; with drain, the answers being written (the reply to the
// restart call that led here) finish first.
func (l *listener) stop(drain bool) {
	switch {
	case l.srv != nil && drain:
		l.srv.Drain()
	case l.srv != nil:
		_ = l.srv.Close()
	}
	_ = l.ln.Close()
	if l.file != nil {
		if fi, err := os.Lstat(l.cfg.File); err == nil && os.SameFile(fi, l.file) {
			_ = os.Remove(l.cfg.File)
		}
	}
}

// Close stops every listener, ends running log streams, and removes the
// unix sockets this Server created. Answers being written get up to
// closeGrace to finish; calls still running then are cut off. The daemon
// calls it when it exits.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closeOnce.Do(func() { close(s.done) })
	ls := s.listeners
	s.listeners = nil
	s.mu.Unlock()
	// Drained, so that the reply to the shutdown call that led here gets
	// out; what is still busy after closeGrace is cut.
	for _, l := range ls {
		l.stop(true)
	}
	deadline := time.NewTimer(closeGrace)
	defer deadline.Stop()
	for _, l := range ls {
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
	s.watcher.close()
	s.streams.Wait()
	return nil
}

// closeGrace bounds how long Close waits for answers being written.
const closeGrace = time.Second
