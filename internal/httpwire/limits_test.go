package httpwire

import (
	"io"
	"net"
	"testing"
	"time"
)

// serveWith runs s on a loopback listener until the test ends.
func serveWith(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		<-done
	})
	return ln.Addr().String()
}

// closedWithin reports whether the server closes c (a read sees EOF or a
// reset) within d.
func closedWithin(t *testing.T, c net.Conn, d time.Duration) bool {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return true
}

// A client that connects and says nothing is closed after
// ReadHeaderTimeout, not after the much longer IdleTimeout: silent
// connections cannot pile up.
func TestSilentConnectionClosedAtHeadTimeout(t *testing.T) {
	addr := serveWith(t, &Server{Handler: echo, ReadHeaderTimeout: 200 * time.Millisecond, IdleTimeout: time.Hour})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !closedWithin(t, c, 10*time.Second) {
		t.Fatal("a silent connection stayed open")
	}
}

// A body that never comes is cut off after BodyTimeout.
func TestStalledBodyClosedAtBodyTimeout(t *testing.T) {
	addr := serveWith(t, &Server{Handler: echo, ReadHeaderTimeout: time.Hour, IdleTimeout: time.Hour, BodyTimeout: 200 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc")); err != nil {
		t.Fatal(err)
	}
	if !closedWithin(t, c, 10*time.Second) {
		t.Fatal("a stalled body kept the connection")
	}
}

// Past MaxConns a new connection is closed at once; when one closes,
// the next is served again. Admit can let chosen clients in regardless.
func TestMaxConns(t *testing.T) {
	s := &Server{Handler: echo, ReadHeaderTimeout: time.Hour, MaxConns: 2}
	addr := serveWith(t, s)
	var open []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		open = append(open, c)
	}
	// The two are tracked once a request of each was answered.
	for _, c := range open {
		if _, err := c.Write([]byte("GET /x HTTP/1.1\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 512)
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	extra, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	if !closedWithin(t, extra, 10*time.Second) {
		t.Fatal("a third connection was kept past MaxConns 2")
	}
	// A client that leaves frees its slot: the next one is served.
	if _, err := open[0].Write([]byte("GET /bye HTTP/1.1\r\nConnection: close\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if !closedWithin(t, open[0], 10*time.Second) {
		t.Fatal("Connection: close did not close")
	}
	if got := exchange(t, addr, "GET /again HTTP/1.0\r\n\r\n"); got == "" {
		t.Fatal("no slot came free after a client left")
	}
}
