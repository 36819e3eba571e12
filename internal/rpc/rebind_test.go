package rpc

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRebind: an unchanged listener keeps serving, with its open
// connections; a changed one (mode, credentials, path) closes and binds
// anew; a removed one closes and its socket file goes.
func TestRebind(t *testing.T) {
	s, _ := newTestServer(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.sock"), filepath.Join(dir, "b.sock")
	unixAt := func(section, file string) ListenerConfig {
		return ListenerConfig{Section: section, Unix: true, File: file, UID: -1, GID: -1}
	}
	inet := ListenerConfig{Section: "inet_http_server", Port: "127.0.0.1:0"}
	if err := s.Listen([]ListenerConfig{unixAt("unix_http_server", a), inet}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	inetAddr := s.Addrs()[1].String()
	held, err := net.Dial("tcp", inetAddr) // an open connection to the unchanged listener
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()

	moved := unixAt("unix_http_server", b)
	moved.Chmod, moved.Credentials = 0o770, Credentials{Username: "admin", Password: "pw"}
	bound, err := s.Rebind([]ListenerConfig{moved, inet})
	if err != nil || len(bound) != 1 {
		t.Fatalf("Rebind: %v %v", bound, err)
	}
	if _, err := os.Lstat(a); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old socket: %v", err)
	}
	if st, err := os.Lstat(b); err != nil || st.Mode().Perm() != 0o770 {
		t.Errorf("new socket: %v %v", st, err)
	}
	if _, err := callURL(t, "unix://"+b, "", "", "supervisor.getPID"); err == nil {
		t.Error("the new socket answered without the new credentials")
	}
	if v, err := callURL(t, "unix://"+b, "admin", "pw", "supervisor.getPID"); err != nil || v != 4242 {
		t.Errorf("getPID with the new credentials: %v %v", v, err)
	}
	if got := s.Addrs()[0].String(); got != inetAddr {
		t.Errorf("the unchanged inet listener moved: %s, was %s", got, inetAddr)
	}
	// The connection opened before still gets an answer.
	_ = held.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := held.Write([]byte("GET /RPC2 HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Errorf("a connection to the unchanged listener was cut: %v", err)
	} else if resp, err := http.ReadResponse(bufio.NewReader(held), nil); err != nil {
		t.Errorf("a connection to the unchanged listener was cut: %v", err)
	} else {
		resp.Body.Close()
	}
	if v, err := callURL(t, "http://"+inetAddr, "", "", "supervisor.getPID"); err != nil || v != 4242 {
		t.Errorf("unchanged listener: %v %v", v, err)
	}

	// Removed: the socket goes; the same config again changes nothing.
	if bound, err := s.Rebind([]ListenerConfig{inet}); err != nil || len(bound) != 0 {
		t.Fatalf("Rebind: %v %v", bound, err)
	}
	if _, err := os.Lstat(b); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("removed socket: %v", err)
	}
	if n := len(s.Addrs()); n != 1 {
		t.Errorf("%d listeners, want 1", n)
	}
}
