package httpwire

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serve runs h on a loopback listener until the test ends.
func serve(t *testing.T, h Handler) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; err != ErrServerClosed {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
	})
	return s, ln.Addr().String()
}

func echo(w *ResponseWriter, r *Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.Error(400, "400 Bad Request")
		return
	}
	w.Header.Set("Content-Type", "text/plain")
	w.Reply(200, []byte(r.Method+" "+r.Target+" "+string(body)))
}

// TestNetHTTPClient talks to the server with Go's own client (a real
// peer): keep-alive reuse, chunked request bodies, HEAD, 404 texts.
func TestNetHTTPClient(t *testing.T) {
	_, addr := serve(t, echo)
	c := &http.Client{Timeout: 10 * time.Second}
	for i := range 3 {
		resp, err := c.Post("http://"+addr+"/RPC2?x=1", "text/xml", strings.NewReader("hello"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "POST /RPC2?x=1 hello" || resp.Header.Get("Date") == "" {
			t.Fatalf("call %d: %d %q %v", i, resp.StatusCode, b, resp.Header)
		}
	}
	// A body of unknown length goes chunked.
	resp, err := c.Post("http://"+addr+"/c", "text/plain", io.MultiReader(strings.NewReader("a"), strings.NewReader("bc")))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "POST /c abc" {
		t.Fatalf("chunked body: %q", b)
	}
	resp, err = c.Head("http://" + addr + "/h")
	if err != nil || resp.ContentLength != int64(len("HEAD /h ")) {
		t.Fatalf("HEAD: %v %v", resp, err)
	}
	resp.Body.Close()
}

// exchange writes raw on a new connection and returns everything the
// server sends until it closes.
func exchange(t *testing.T, addr, raw string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	return string(b)
}

func TestRawExchanges(t *testing.T) {
	_, addr := serve(t, echo)
	cases := []struct{ name, raw, want string }{
		{"malformed", "NOT HTTP\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
		{"bad header", "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", "HTTP/1.1 400 "},
		{"smuggling", "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.1 400 "},
		{"huge head", "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", MaxHeadBytes) + "\r\n\r\n", "HTTP/1.1 431 "},
		{"http/1.0 closes", "GET /a HTTP/1.0\r\n\r\n", "GET /a "},
		{"stray CRLF then close", "POST /p HTTP/1.1\r\nContent-Length: 1\r\n\r\nx\r\nGET /q HTTP/1.1\r\nConnection: close\r\n\r\n", "GET /q "},
		{"expect", "POST /e HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK"},
		{"bad expect", "GET / HTTP/1.1\r\nExpect: magic\r\n\r\n", "HTTP/1.1 417 "},
	}
	for _, c := range cases {
		got := exchange(t, addr, c.raw)
		if !strings.Contains(got, c.want) {
			t.Errorf("%s: got %q, want it to hold %q", c.name, got, c.want)
		}
		if c.name == "stray CRLF then close" && !strings.Contains(got, "POST /p x") {
			t.Errorf("%s: first answer missing: %q", c.name, got)
		}
	}
}

// TestIdleAndClose: Idle waits for open connections; Close ends them.
func TestIdleAndClose(t *testing.T) {
	s, addr := serve(t, echo)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	if err := WriteRequest(bufio.NewWriter(c), "GET", "/x", "h", nil, nil); err != nil {
		t.Fatal(err)
	}
	resp, err := ReadResponse(br, "GET")
	if err != nil || resp.Status != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	select {
	case <-s.Idle():
		t.Fatal("Idle with a kept-alive connection open")
	default:
	}
	c.Close()
	select {
	case <-s.Idle():
	case <-time.After(10 * time.Second):
		t.Fatal("Idle not reached after the client closed")
	}
}

func TestHijack(t *testing.T) {
	s, addr := serve(t, func(w *ResponseWriter, r *Request) {
		c, _, bw := w.Hijack()
		defer c.Close()
		bw.WriteString("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nstream")
		bw.Flush()
	})
	if got := exchange(t, addr, "GET / HTTP/1.1\r\n\r\n"); !strings.HasSuffix(got, "\r\n\r\nstream") {
		t.Fatalf("hijacked answer %q", got)
	}
	select {
	case <-s.Idle():
	case <-time.After(10 * time.Second):
		t.Fatal("a hijacked connection still counts")
	}
}

func TestPanicClosesConnection(t *testing.T) {
	_, addr := serve(t, func(*ResponseWriter, *Request) { panic("boom") })
	if got := exchange(t, addr, "GET / HTTP/1.1\r\n\r\n"); got != "" {
		t.Fatalf("after a panic got %q", got)
	}
}

// flakyListener fails its first Accepts as a listener out of descriptors
// does, then accepts from the real one.
type flakyListener struct {
	net.Listener
	fails int
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails > 0 {
		l.fails--
		return nil, syscall.EMFILE
	}
	return l.Listener.Accept()
}

// TestAcceptErrorsDoNotStopServing: EMFILE from accept(2) is waited out,
// not the end of the control API.
func TestAcceptErrorsDoNotStopServing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: echo}
	done := make(chan error, 1)
	go func() { done <- s.Serve(&flakyListener{Listener: ln, fails: 3}) }()
	if got := exchange(t, ln.Addr().String(), "GET /after HTTP/1.0\r\n\r\n"); !strings.Contains(got, "GET /after") {
		t.Fatalf("after accept errors got %q", got)
	}
	s.Close()
	if err := <-done; err != ErrServerClosed {
		t.Fatalf("Serve = %v", err)
	}
}

// Drain lets an answer being written finish (the reply to a daemon
// restart that drains its own listener), closes a kept-alive idle
// connection at once, and accepts nothing new.
func TestDrain(t *testing.T) {
	inHandler, release := make(chan struct{}), make(chan struct{})
	s, addr := serve(t, func(w *ResponseWriter, r *Request) {
		if r.Target == "/slow" {
			close(inHandler)
			<-release
		}
		w.Reply(200, []byte("ok"))
	})
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	ibr := bufio.NewReader(idle)
	if err := WriteRequest(bufio.NewWriter(idle), "GET", "/", "h", nil, nil); err != nil {
		t.Fatal(err)
	}
	if resp, err := ReadResponse(ibr, "GET"); err != nil || resp.Status != 200 {
		t.Fatalf("%v %v", resp, err)
	} else if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if err := WriteRequest(bufio.NewWriter(busy), "GET", "/slow", "h", nil, nil); err != nil {
		t.Fatal(err)
	}
	<-inHandler
	s.Drain()
	if _, err := ibr.ReadByte(); err != io.EOF {
		t.Errorf("idle connection after Drain: %v, want EOF", err)
	}
	close(release)
	resp, err := ReadResponse(bufio.NewReader(busy), "GET")
	if err != nil || resp.Status != 200 {
		t.Fatalf("the answer being written: %v %v", resp, err)
	}
	select {
	case <-s.Idle():
	case <-time.After(10 * time.Second):
		t.Fatal("connections left after Drain")
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Error("a connection was accepted after Drain")
	}
}
