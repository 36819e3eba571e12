package rpc

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// answerPID is an XML-RPC answer of 4242.
const answerPID = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><int>4242</int></value>\n</param>\n</params>\n</methodResponse>\n"

// rawServer serves handler on a unix socket and counts connections.
type rawServer struct {
	url    string
	conns  atomic.Int32
	closed chan struct{} // a value per connection closed
	srv    *http.Server
}

func newRawServer(t *testing.T, handler http.HandlerFunc) *rawServer {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "s.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	rs := &rawServer{url: "unix://" + sock, closed: make(chan struct{}, 100)}
	rs.srv = &http.Server{Handler: handler, ConnState: func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			rs.conns.Add(1)
		case http.StateClosed:
			rs.closed <- struct{}{}
		}
	}}
	go rs.srv.Serve(ln)
	t.Cleanup(func() { rs.srv.Close() })
	return rs
}

func callPID(t *testing.T, c *Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := c.Call(ctx, "supervisor.getPID")
	if err != nil || v != 4242 {
		t.Fatalf("getPID = %v, %v", v, err)
	}
}

// Calls share one connection; an answer with Connection: close, or a
// connection the server closed while idle, is replaced by a new one
// without failing the call.
func TestClientConnections(t *testing.T) {
	var mode atomic.Value
	mode.Store("")
	rs := newRawServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch mode.Load() {
		case "close":
			w.Header().Set("Connection", "close")
		case "chunked":
			w.Header().Set("Content-Type", "text/xml")
			w.Write([]byte(answerPID[:40]))
			w.(http.Flusher).Flush() // no Content-Length: chunked
			w.Write([]byte(answerPID[40:]))
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(answerPID)))
		w.Write([]byte(answerPID))
	})
	c, err := NewClientAuth(rs.url, ClientAuth{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 3 {
		callPID(t, c)
	}
	if n := rs.conns.Load(); n != 1 {
		t.Errorf("3 calls used %d connections, want 1", n)
	}
	mode.Store("chunked")
	callPID(t, c)
	mode.Store("close")
	callPID(t, c)
	callPID(t, c)
	if n := rs.conns.Load(); n != 2 {
		t.Errorf("after two Connection: close answers: %d connections, want 2", n)
	}
	mode.Store("")
	callPID(t, c)
	// The server closes idle connections; the client notices before
	// sending on one.
	deadline := time.After(10 * time.Second)
	for i := range 3 { // the two Connection: close ones, then the idle one
		if i == 2 {
			rs.srv.SetKeepAlivesEnabled(false) // closes idle connections now
		}
		select {
		case <-rs.closed:
		case <-deadline:
			t.Fatalf("%d connections closed, want 3", i)
		}
	}
	rs.srv.SetKeepAlivesEnabled(true)
	callPID(t, c)
}

// A call ends with its context: the error matches the context's, and
// the connection is not reused.
func TestClientCallCancel(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	rs := newRawServer(t, func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.Write([]byte(answerPID))
	})
	defer close(release)
	c, err := NewClientAuth(rs.url, ClientAuth{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Call(ctx, "supervisor.getPID")
		done <- err
	}()
	select {
	case <-arrived: // the server holds the call until the client gives up
	case <-time.After(10 * time.Second):
		t.Fatal("the call did not reach the server")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled call: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the call did not end with its context")
	}
	if c.idle != nil {
		t.Error("the connection of a cancelled call is kept")
	}
}

// A non-200 answer is an *HTTPError and leaves the connection usable.
func TestClientHTTPError(t *testing.T) {
	var n atomic.Int32
	rs := newRawServer(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			http.Error(w, "401 Unauthorized", http.StatusUnauthorized)
			return
		}
		w.Write([]byte(answerPID))
	})
	c, err := NewClientAuth(rs.url, ClientAuth{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Call(context.Background(), "supervisor.getPID")
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != 401 || he.Status != "401 Unauthorized" {
		t.Fatalf("401 answer: %v", err)
	}
	callPID(t, c)
	if got := rs.conns.Load(); got != 1 {
		t.Errorf("%d connections, want 1", got)
	}
}
