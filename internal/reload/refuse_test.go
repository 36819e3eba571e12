package reload

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// refusedFast is how soon a connect to refused sockets must fail: at once
// (a hang would last the client's own timeout).
const refusedFast = time.Second

// TestRefuseReopen, on real sockets: after Refuse a connection queued
// before is reset and a new one is refused at once (ECONNREFUSED); after
// Reopen the same address accepts again, through the Set's own files, and
// a unix socket file keeps its mode. Port 0 is the case where the kernel
// releases the port on shutdown (Reopen binds the resolved port again).
func TestRefuseReopen(t *testing.T) {
	dir := t.TempDir()
	for _, value := range []string{"tcp://127.0.0.1:0", fmt.Sprintf("tcp://127.0.0.1:%d", freeTCPPort(t)),
		"unix://" + filepath.Join(dir, "app.sock")} {
		t.Run(value, func(t *testing.T) {
			set := mustBind(t, value, SocketOptions{Mode: 0o640})
			network, addr := "tcp", set.Addrs()[0]
			if set.Specs()[0].Network != "tcp" {
				network = "unix"
			}
			queued, err := net.Dial(network, addr)
			if err != nil {
				t.Fatal(err)
			}
			defer queued.Close()
			if err := set.Refuse(); err != nil {
				t.Fatal(err)
			}
			_ = queued.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := queued.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) {
				t.Errorf("a connection queued before Refuse: read %v, want reset", err)
			}
			t0 := time.Now()
			d := net.Dialer{Timeout: 10 * time.Second}
			if c, err := d.Dial(network, addr); !errors.Is(err, syscall.ECONNREFUSED) || time.Since(t0) > refusedFast {
				if c != nil {
					c.Close()
				}
				t.Fatalf("connect after Refuse: %v after %v, want ECONNREFUSED at once", err, time.Since(t0))
			}
			if _, err := set.Files(); !errors.Is(err, ErrRefused) {
				t.Errorf("Files after Refuse: %v", err)
			}
			if err := set.Refuse(); err != nil {
				t.Errorf("second Refuse: %v", err)
			}
			if err := set.Reopen(); err != nil {
				t.Fatal(err)
			}
			if got := set.Addrs()[0]; got != addr {
				t.Errorf("address %s after Reopen, was %s", got, addr)
			}
			if network == "unix" {
				if st, err := os.Stat(addr); err != nil || st.Mode().Perm() != 0o640 {
					t.Errorf("socket file after Reopen: %v %v", st.Mode(), err)
				}
			}
			c, err := net.Dial(network, addr)
			if err != nil {
				t.Fatalf("connect after Reopen: %v", err)
			}
			defer c.Close()
			files, err := set.Files()
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.FileListener(files[0]) // dups; fine in a test, never in the daemon
			files[0].Close()
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			a, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			a.Close()
			if err := set.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
}

// TestRefuseClosed: a refused Set closes cleanly (its unix socket file
// goes), and Refuse and Reopen of a closed Set do nothing.
func TestRefuseClosed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.sock")
	set := mustBind(t, "unix://"+path, SocketOptions{})
	if err := set.Refuse(); err != nil {
		t.Fatal(err)
	}
	if err := set.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file after Close: %v", err)
	}
	if set.Refuse() != nil || set.Reopen() != nil {
		t.Error("Refuse/Reopen of a closed Set")
	}
}

// freeTCPPort is a port nobody listens on now.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
