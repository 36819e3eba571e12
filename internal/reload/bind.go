package reload

import (
	"github.com/drover-sh/drover/internal/config"

	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// ErrSocketInUse is wrapped by Bind when a unix socket file has a live
// listener (someone accepted a test connection); the file is left alone.
var ErrSocketInUse = errors.New("socket in use")

// ErrNotSocket is wrapped by Bind when a unix socket path names an existing
// file that is not a socket; drover never deletes such a file.
var ErrNotSocket = errors.New("exists and is not a socket")

// ErrClosed is wrapped by Set methods called after Close.
var ErrClosed = errors.New("socket set closed")

// SocketOptions are a program's socket_* options, shared by its sockets.
type SocketOptions struct {
	// Backlog is listen(2)'s backlog; 0 means DefaultBacklog.
	Backlog int
	// Mode is the unix socket file's mode; 0 means DefaultSocketMode.
	Mode os.FileMode
	// Owner owns unix socket files (socket_owner, resolved by the
	// caller); nil keeps the daemon's user and group.
	Owner *Owner
}

// Owner is a resolved socket_owner = user[:group].
type Owner struct {
	UID int
	GID int // -1 keeps the daemon's group
}

// Set is a program's listening sockets, bound once by Bind and held by the
// daemon for the program's lifetime, so every generation inherits the same
// sockets (the same kernel accept queues). Its methods are safe for
// concurrent use.
//
// The daemon's copies stay in blocking mode and are never used to accept:
// O_NONBLOCK is shared by every holder of the socket, so the daemon must
// not wrap them in net.FileListener. Only Retire calls shutdown(2), which
// stops accept for every process that shares the socket: on the TCP
// listeners of a generation that is gone.
type Set struct {
	mu      sync.Mutex
	socks   []*boundSocket
	closed  bool
	backlog int // for Sibling
	// opts are what Reopen binds a unix socket again with; refused is
	// set between Refuse and Reopen.
	opts    SocketOptions
	refused bool
}

type boundSocket struct {
	spec config.Socket
	addr string         // the bound address (ephemeral ports resolved)
	ap   netip.AddrPort // TCP: the bound address, for Sibling
	f    *os.File
	dev  uint64 // of the unix socket file we created, for Close
	ino  uint64
	// refs counts the Sets holding this socket (a unix socket is shared
	// by a Set and its Siblings); the last Close closes it.
	refs *atomic.Int32
}

// Bind binds and listens on specs in order. TCP sockets get SO_REUSEADDR
// (so a restarted daemon can bind while old connections are in TIME_WAIT)
// and SO_REUSEPORT, so that a Sibling can join their group; only the
// daemon's own Siblings do, and Steer decides which member gets new
// connections (see steer.go); an IPv6 address gets IPV6_V6ONLY, as Server::Starter does. A unix socket
// file left by a dead listener is replaced, a live one is refused
// (ErrSocketInUse), a non-socket file is refused (ErrNotSocket); the file
// gets Mode and owner before listen(2), so nobody connects before the
// permissions are final. On error every socket bound so far is closed and
// its file removed: Bind is all or nothing.
func Bind(specs []config.Socket, o SocketOptions) (*Set, error) {
	if o.Backlog == 0 {
		o.Backlog = config.DefaultBacklog
	}
	if o.Backlog < 1 || o.Backlog > config.MaxBacklog {
		return nil, fmt.Errorf("%w: backlog %d: use 1 to %d", config.ErrBadSocket, o.Backlog, config.MaxBacklog)
	}
	if o.Mode == 0 {
		o.Mode = config.DefaultSocketMode
	}
	set := &Set{backlog: o.Backlog, opts: o}
	for _, s := range specs {
		var b *boundSocket
		var err error
		switch s.Network {
		case config.TCP:
			b, err = bindTCP(s, o.Backlog)
		case config.Unix:
			b, err = bindUnix(s, o)
		default:
			err = fmt.Errorf("%w: unknown network %q", config.ErrBadSocket, s.Network)
		}
		if err != nil {
			_ = set.Close()
			return nil, fmt.Errorf("bind %s: %w", s, err)
		}
		set.socks = append(set.socks, b)
	}
	return set, nil
}

func bindTCP(s config.Socket, backlog int) (*boundSocket, error) {
	if s.AddrPort.Port() != 0 {
		if err := checkFree(s.AddrPort); err != nil {
			return nil, err
		}
	}
	return bindTCPAt(s, s.AddrPort, backlog)
}

// sockaddrOf is ap's address family and sockaddr.
func sockaddrOf(ap netip.AddrPort) (int, unix.Sockaddr, error) {
	switch a := ap.Addr(); {
	case a.Is4():
		return unix.AF_INET, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}, nil
	case a.Is6():
		return unix.AF_INET6, &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}, nil
	}
	return 0, nil, fmt.Errorf("%w: no address", config.ErrBadSocket)
}

// checkFree fails with EADDRINUSE when something listens on ap already:
// SO_REUSEPORT would otherwise let a second daemon of the same user join
// that listener's group and take a share of its connections. A socket
// without SO_REUSEPORT conflicts with any listener on the address.
func checkFree(ap netip.AddrPort) error {
	family, sa, err := sockaddrOf(ap)
	if err != nil {
		return err
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	defer unix.Close(fd)
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	if family == unix.AF_INET6 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return os.NewSyscallError("bind", err)
	}
	return nil
}

// bindTCPAt binds s at ap (s.AddrPort, or the resolved address for a
// Sibling).
func bindTCPAt(s config.Socket, ap netip.AddrPort, backlog int) (*boundSocket, error) {
	family, sa, err := sockaddrOf(ap)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	fail := func(call string, err error) (*boundSocket, error) {
		unix.Close(fd)
		return nil, os.NewSyscallError(call, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fail("setsockopt", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return fail("setsockopt", err)
	}
	if family == unix.AF_INET6 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
			return fail("setsockopt", err)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	if err := unix.Listen(fd, backlog); err != nil {
		return fail("listen", err)
	}
	got, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	addr := ap
	switch v := got.(type) {
	case *unix.SockaddrInet4:
		addr = netip.AddrPortFrom(netip.AddrFrom4(v.Addr), uint16(v.Port))
	case *unix.SockaddrInet6:
		addr = netip.AddrPortFrom(netip.AddrFrom16(v.Addr), uint16(v.Port))
	}
	return &boundSocket{spec: s, addr: addr.String(), ap: addr, f: os.NewFile(uintptr(fd), s.String()), refs: oneRef()}, nil
}

func bindUnix(s config.Socket, o SocketOptions) (*boundSocket, error) {
	abstract := s.Path[0] == '@'
	if !abstract {
		if err := clearStale(s.Path); err != nil {
			return nil, err
		}
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	b := &boundSocket{spec: s, addr: s.Path, refs: oneRef()}
	fail := func(call string, err error) (*boundSocket, error) {
		unix.Close(fd)
		if !abstract && b.ino != 0 {
			_ = removeIfSame(s.Path, b.dev, b.ino)
		}
		return nil, os.NewSyscallError(call, err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: s.Path}); err != nil {
		return fail("bind", err)
	}
	if !abstract {
		var st unix.Stat_t
		if err := unix.Lstat(s.Path, &st); err != nil {
			return fail("lstat", err)
		}
		b.dev, b.ino = st.Dev, st.Ino
		if err := unix.Chmod(s.Path, uint32(o.Mode.Perm())); err != nil {
			return fail("chmod", err)
		}
		if o.Owner != nil {
			if err := unix.Lchown(s.Path, o.Owner.UID, o.Owner.GID); err != nil {
				return fail("chown", err)
			}
		}
	}
	if err := unix.Listen(fd, o.Backlog); err != nil {
		return fail("listen", err)
	}
	b.f = os.NewFile(uintptr(fd), s.String())
	return b, nil
}

// clearStale removes a socket file nobody listens on. A connect that
// succeeds means a live server owns it; ECONNREFUSED means the listener
// is gone (the file outlived a crash).
func clearStale(p string) error {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return os.NewSyscallError("lstat", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return fmt.Errorf("%s %w", p, ErrNotSocket)
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	err = unix.Connect(fd, &unix.SockaddrUnix{Name: p})
	unix.Close(fd)
	switch {
	case err == nil:
		return fmt.Errorf("%s: %w: another process listens on it", p, ErrSocketInUse)
	case errors.Is(err, unix.ECONNREFUSED):
		if err := unix.Unlink(p); err != nil && !errors.Is(err, unix.ENOENT) {
			return os.NewSyscallError("unlink stale socket", err)
		}
		return nil
	default:
		return fmt.Errorf("%s: cannot tell whether the socket is in use: %w", p, os.NewSyscallError("connect", err))
	}
}

// removeIfSame unlinks p only if it is still the file we created.
func removeIfSame(p string, dev, ino uint64) error {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil || st.Dev != dev || st.Ino != ino {
		return nil
	}
	return unix.Unlink(p)
}

// Len is the number of sockets.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.socks)
}

// Specs returns the parsed entries in order.
func (s *Set) Specs() []config.Socket {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]config.Socket, len(s.socks))
	for i, b := range s.socks {
		out[i] = b.spec
	}
	return out
}

// Addrs returns the bound addresses in order: "127.0.0.1:41234" for a TCP
// socket (an ephemeral port resolved), the path for a unix socket.
func (s *Set) Addrs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.socks))
	for i, b := range s.socks {
		out[i] = b.addr
	}
	return out
}

// Names returns the LISTEN_FDNAMES names in fd order.
func (s *Set) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.socks))
	for i, b := range s.socks {
		out[i] = b.spec.Name
	}
	return out
}

// Files returns new duplicates of the sockets in order (close-on-exec,
// which spawn's dup2 into fds 3, 4, ... clears in the child), for
// spawn.Spec.ExtraFiles. The caller closes them once the spawn returned;
// the Set keeps its own copies. It fails only if the Set is closed or the
// daemon is out of descriptors; then no file is left open.
func (s *Set) Files() ([]*os.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if s.refused {
		return nil, ErrRefused
	}
	out := make([]*os.File, 0, len(s.socks))
	for _, b := range s.socks {
		fd, err := unix.FcntlInt(b.f.Fd(), unix.F_DUPFD_CLOEXEC, 3)
		if err != nil {
			for _, f := range out {
				f.Close()
			}
			return nil, os.NewSyscallError("dup", err)
		}
		out = append(out, os.NewFile(uintptr(fd), b.f.Name()))
	}
	return out, nil
}

// Close closes the daemon's copies and removes the unix socket files it
// created (unless something replaced them since); a unix socket shared
// with a Sibling stays until the last Set holding it is closed. Children
// keep their inherited copies. Close is idempotent.
func (s *Set) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	for _, b := range s.socks {
		if b.refs != nil && b.refs.Add(-1) > 0 {
			continue
		}
		if b.ino != 0 {
			if err := removeIfSame(b.spec.Path, b.dev, b.ino); err != nil {
				errs = append(errs, fmt.Errorf("remove %s: %w", b.spec.Path, err))
			}
		}
		if b.f == nil {
			continue // refused unix socket: no listener left
		}
		if err := b.f.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func oneRef() *atomic.Int32 {
	r := &atomic.Int32{}
	r.Store(1)
	return r
}
