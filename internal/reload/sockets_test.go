package reload

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drover-sh/drover/internal/config"

	"golang.org/x/sys/unix"
)

func mustBind(t *testing.T, value string, o SocketOptions) *Set {
	t.Helper()
	specs, err := config.ParseSockets(value)
	if err != nil {
		t.Fatal(err)
	}
	set, err := Bind(specs, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { set.Close() })
	return set
}

func sockopt(t *testing.T, f *os.File, level, opt int) int {
	t.Helper()
	v, err := unix.GetsockoptInt(int(f.Fd()), level, opt)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestBindTCP: the sockets listen with SO_REUSEADDR and SO_REUSEPORT (for
// Sibling), an ephemeral port is reported as bound, and a connection
// made before any child exists waits in the backlog until a duplicate from
// Files accepts it (the same kernel socket).
func TestBindTCP(t *testing.T) {
	set := mustBind(t, "tcp://127.0.0.1:0", SocketOptions{})
	addr := set.Addrs()[0]
	if !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
		t.Fatalf("addr %q", addr)
	}
	files, err := set.Files()
	if err != nil {
		t.Fatal(err)
	}
	defer files[0].Close()
	f := files[0]
	if sockopt(t, f, unix.SOL_SOCKET, unix.SO_REUSEADDR) != 1 || sockopt(t, f, unix.SOL_SOCKET, unix.SO_REUSEPORT) != 1 ||
		sockopt(t, f, unix.SOL_SOCKET, unix.SO_ACCEPTCONN) != 1 {
		t.Error("want SO_REUSEADDR, SO_REUSEPORT, listening")
	}
	if fl, _ := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0); fl&unix.O_NONBLOCK != 0 {
		t.Error("socket is non-blocking: children would inherit O_NONBLOCK")
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ln, err := net.FileListener(f) // dups f; fine in a test, never in the daemon
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	if set.Names()[0] != "sock0" || set.Len() != 1 {
		t.Errorf("names %v", set.Names())
	}
}

func TestBindTCPv6(t *testing.T) {
	if ln, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Skip("no IPv6 loopback:", err)
	} else {
		ln.Close()
	}
	set := mustBind(t, "tcp://[::1]:0", SocketOptions{})
	files, err := set.Files()
	if err != nil {
		t.Fatal(err)
	}
	defer files[0].Close()
	if sockopt(t, files[0], unix.IPPROTO_IPV6, unix.IPV6_V6ONLY) != 1 {
		t.Error("want IPV6_V6ONLY")
	}
	if !strings.HasPrefix(set.Addrs()[0], "[::1]:") {
		t.Errorf("addr %q", set.Addrs()[0])
	}
}

// TestBindAllOrNothing: a failing entry closes what was bound before it.
func TestBindAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	sock := filepath.Join(dir, "a.sock")
	specs, err := config.ParseSockets("unix://" + sock + ", tcp://" + busy.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Bind(specs, SocketOptions{}); !errors.Is(err, unix.EADDRINUSE) {
		t.Fatalf("err %v, want EADDRINUSE", err)
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("unix socket file left behind: %v", err)
	}
	// A second daemon cannot join drover's own SO_REUSEPORT listener.
	mine := mustBind(t, "tcp://127.0.0.1:0", SocketOptions{})
	again, _ := config.ParseSockets("tcp://" + mine.Addrs()[0])
	if _, err := Bind(again, SocketOptions{}); !errors.Is(err, unix.EADDRINUSE) {
		t.Fatalf("second Bind of %s: %v, want EADDRINUSE", mine.Addrs()[0], err)
	}
	if _, err := Bind(specs[:1], SocketOptions{Backlog: config.MaxBacklog + 1}); !errors.Is(err, config.ErrBadSocket) {
		t.Errorf("backlog: %v", err)
	}
}

func TestBindUnix(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.sock")

	// A stale socket file (its listener is gone) is replaced.
	stale, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	set := mustBind(t, "unix://"+p, SocketOptions{Mode: 0o600, Owner: &Owner{UID: os.Getuid(), GID: os.Getgid()}})
	st, err := os.Lstat(p)
	if err != nil || st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o600 {
		t.Fatalf("socket file: %v %v", st, err)
	}
	c, err := net.Dial("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()

	// A live one is refused and left alone.
	specs, _ := config.ParseSockets("unix://" + p)
	if _, err := Bind(specs, SocketOptions{}); !errors.Is(err, ErrSocketInUse) {
		t.Fatalf("live socket: %v", err)
	}
	if _, err := os.Lstat(p); err != nil {
		t.Fatal("live socket file removed")
	}

	// Close removes the file it created.
	if err := set.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Errorf("file left after Close: %v", err)
	}
	if _, err := set.Files(); !errors.Is(err, ErrClosed) {
		t.Errorf("Files after Close: %v", err)
	}
	if err := set.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	// A regular file is never deleted.
	reg := filepath.Join(dir, "file")
	if err := os.WriteFile(reg, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	specs, _ = config.ParseSockets("unix://" + reg)
	if _, err := Bind(specs, SocketOptions{}); !errors.Is(err, ErrNotSocket) {
		t.Fatalf("regular file: %v", err)
	}
	if b, _ := os.ReadFile(reg); string(b) != "x" {
		t.Error("regular file changed")
	}
}

// TestServerStarterPort pins the format to Server::Starter's start_server
// ("$hostport=$fd" joined by ";", IPv6 in brackets) and numbers fds on
// across sets.
func TestServerStarterPort(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.sock")
	set := mustBind(t, "tcp://127.0.0.1:0, unix://"+p, SocketOptions{})
	probe := mustBind(t, "tcp://127.0.0.1:0", SocketOptions{})
	a, pa := set.Addrs()[0], probe.Addrs()[0]
	want := a + "=3;" + p + "=4;" + pa + "=5"
	if got := ServerStarterPort(set, nil, probe); got != want {
		t.Errorf("got %q want %q", got, want)
	}
	env := ServerStarterEnv(2, set)
	if env[0] != "SERVER_STARTER_PORT="+a+"=3;"+p+"=4" || env[1] != "SERVER_STARTER_GENERATION=2" {
		t.Errorf("env %q", env)
	}
	specs, _ := config.ParseSockets("tcp://[::1]:8081")
	if (&Set{socks: []*boundSocket{{spec: specs[0], addr: specs[0].Addr()}}}).Addrs()[0] != "[::1]:8081" {
		t.Error("IPv6 form")
	}
}
