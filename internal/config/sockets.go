package config

import (
	"errors"
	"fmt"
	"net/netip"
	"path"
	"strings"
)

// ErrBadSocket is wrapped by every sockets= parse error.
var ErrBadSocket = errors.New("invalid socket")

// Network is a socket's address family as written in sockets=.
type Network string

// The networks sockets= accepts.
const (
	TCP  Network = "tcp"
	Unix Network = "unix"
)

// DefaultBacklog is socket_backlog's default. The reference measured
// hand-offs with a backlog of at least 1024: while neither generation is
// accepting for a moment, new connections wait in this queue.
const DefaultBacklog = 1024

// MaxBacklog is the largest socket_backlog accepted (the kernel also caps
// it at net.core.somaxconn).
const MaxBacklog = 65535

// DefaultSocketMode is socket_mode's default for unix sockets: owner and
// group may connect (connecting needs write permission on the file).
const DefaultSocketMode = 0o660

// ProbeName is the LISTEN_FDNAMES name of a generation's private probe
// socket; sockets= may not use it.
const ProbeName = "probe"

// Socket is one parsed sockets= entry. It is a value: the daemon binds it
// (reload.Bind) once for the program's lifetime.
type Socket struct {
	// Name is the LISTEN_FDNAMES name: written as name=tcp://..., else
	// "sock0", "sock1", ... by position.
	Name    string
	Network Network
	// AddrPort is the TCP address (port 0 binds an ephemeral port).
	AddrPort netip.AddrPort
	// Path is the unix socket's file, or "@name" for an abstract socket.
	Path string
}

// Addr is the address as Server::Starter and logs write it:
// "127.0.0.1:8080", "[::1]:8081" or the unix path.
func (s Socket) Addr() string {
	if s.Network == TCP {
		return s.AddrPort.String()
	}
	return s.Path
}

// String is the entry in sockets= syntax, without the name.
func (s Socket) String() string { return string(s.Network) + "://" + s.Addr() }

// ParseSockets parses a sockets= value: entries separated by commas, each
// [name=]tcp://IP:PORT (IPv6 in brackets), [name=]unix:///absolute/path or
// [name=]unix://@abstract. On error nothing is returned and the error,
// wrapping ErrBadSocket, names the entry.
func ParseSockets(value string) ([]Socket, error) {
	if strings.TrimSpace(value) == "" {
		return nil, fmt.Errorf("%w: empty sockets= value", ErrBadSocket)
	}
	parts := strings.Split(value, ",")
	specs := make([]Socket, 0, len(parts))
	names := map[string]bool{}
	addrs := map[string]bool{}
	for i, p := range parts {
		s, err := ParseSocket(strings.TrimSpace(p))
		if err != nil {
			return nil, fmt.Errorf("sockets entry %d: %w", i+1, err)
		}
		if s.Name == "" {
			s.Name = fmt.Sprintf("sock%d", i)
		}
		if names[s.Name] {
			return nil, fmt.Errorf("sockets entry %d: %w: name %q used twice", i+1, ErrBadSocket, s.Name)
		}
		if addrs[s.String()] && !(s.Network == TCP && s.AddrPort.Port() == 0) {
			return nil, fmt.Errorf("sockets entry %d: %w: %s listed twice", i+1, ErrBadSocket, s)
		}
		names[s.Name], addrs[s.String()] = true, true
		specs = append(specs, s)
	}
	return specs, nil
}

// ParseSocket parses one sockets= entry (see ParseSockets). A missing name
// is left empty.
func ParseSocket(entry string) (Socket, error) {
	var s Socket
	if eq, sch := strings.IndexByte(entry, '='), strings.Index(entry, "://"); eq >= 0 && (sch < 0 || eq < sch) {
		s.Name, entry = entry[:eq], entry[eq+1:]
		if err := checkSocketName(s.Name); err != nil {
			return Socket{}, err
		}
	}
	scheme, rest, ok := strings.Cut(entry, "://")
	if !ok {
		return Socket{}, fmt.Errorf("%w: %q: use tcp://IP:PORT or unix:///path", ErrBadSocket, entry)
	}
	switch Network(strings.ToLower(scheme)) {
	case TCP:
		s.Network = TCP
		ap, err := netip.ParseAddrPort(rest)
		if err != nil {
			return Socket{}, fmt.Errorf("%w: %q: need an IP address and port, e.g. tcp://127.0.0.1:8080 or tcp://[::1]:8080", ErrBadSocket, entry)
		}
		if ap.Addr().Zone() != "" {
			return Socket{}, fmt.Errorf("%w: %q: zoned IPv6 addresses are not supported", ErrBadSocket, entry)
		}
		s.AddrPort = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	case Unix:
		s.Network = Unix
		switch {
		case strings.HasPrefix(rest, "@") && len(rest) > 1:
			s.Path = rest
		case strings.HasPrefix(rest, "/"):
			s.Path = path.Clean(rest)
		default:
			return Socket{}, fmt.Errorf("%w: %q: a unix socket needs an absolute path (unix:///run/app.sock) or @name", ErrBadSocket, entry)
		}
		if strings.IndexByte(s.Path, 0) >= 0 {
			return Socket{}, fmt.Errorf("%w: %q: NUL in path", ErrBadSocket, entry)
		}
		if len(s.Path) > 107 { // sun_path holds 108 bytes with the NUL
			return Socket{}, fmt.Errorf("%w: %q: path longer than 107 bytes", ErrBadSocket, entry)
		}
		if s.Path == "/" {
			return Socket{}, fmt.Errorf("%w: %q: not a file path", ErrBadSocket, entry)
		}
	default:
		return Socket{}, fmt.Errorf("%w: %q: unknown scheme %q (tcp or unix)", ErrBadSocket, entry, scheme)
	}
	return s, nil
}

// checkSocketName enforces systemd's rules for LISTEN_FDNAMES entries (printable
// ASCII without ':', at most 255 bytes) and keeps "probe" for drover.
func checkSocketName(n string) error {
	if n == "" || len(n) > 255 {
		return fmt.Errorf("%w: socket name %q must have 1 to 255 characters", ErrBadSocket, n)
	}
	for i := 0; i < len(n); i++ {
		if c := n[i]; c <= ' ' || c >= 0x7f || c == ':' {
			return fmt.Errorf("%w: socket name %q: only printable ASCII without spaces or ':'", ErrBadSocket, n)
		}
	}
	if n == ProbeName {
		return fmt.Errorf("%w: socket name %q is reserved for drover's probe socket", ErrBadSocket, n)
	}
	return nil
}
