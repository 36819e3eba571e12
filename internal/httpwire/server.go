package httpwire

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrServerClosed is what Serve returns after Close.
var ErrServerClosed = errors.New("httpwire: server closed")

// Handler answers one request through w. A handler that returns without
// answering gets a 500 sent for it.
type Handler func(w *ResponseWriter, r *Request)

// Server serves Handler on listeners: HTTP/1.0 and 1.1, keep-alive,
// bodies framed by Content-Length or chunked, Expect: 100-continue. Set
// the fields before Serve; the zero timeouts and limits mean none.
type Server struct {
	Handler Handler
	// ReadHeaderTimeout bounds reading a request's head: on a new
	// connection from the accept (a client that connects and says nothing
	// holds a descriptor no longer), on a kept-alive one from its first
	// byte. IdleTimeout bounds a kept-alive connection's wait for that
	// byte. BodyTimeout bounds reading the body, from the end of the head
	// until the handler returns (Hijack lifts it).
	ReadHeaderTimeout, IdleTimeout, BodyTimeout time.Duration
	// MaxConns bounds the connections open at once: one more is closed as
	// soon as it is accepted, unless Admit lets it in. Admit, when set,
	// decides for every new connection, given how many are open.
	MaxConns int
	Admit    func(c net.Conn, open int) bool
	// ConnContext, when set, derives the context of a connection's
	// requests from the server's (e.g. to carry the peer's credentials).
	ConnContext func(ctx context.Context, c net.Conn) context.Context
	// Log receives connection errors and handler panics; nil discards.
	Log *slog.Logger

	mu        sync.Mutex
	closed    bool
	draining  bool // Drain: each connection closes once between requests
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	empty     chan struct{} // closed while conns is empty
	ctx       context.Context
	cancel    context.CancelFunc
}

func (s *Server) init() {
	if s.conns == nil {
		s.listeners = map[net.Listener]struct{}{}
		s.conns = map[net.Conn]struct{}{}
		s.empty = make(chan struct{})
		close(s.empty)
		s.ctx, s.cancel = context.WithCancel(context.Background())
	}
}

// Serve accepts connections on ln until Close (then it returns
// ErrServerClosed) or an accept error.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.init()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of descriptors or memory, an aborted handshake: the
			// listener is fine, so wait a little and accept again rather
			// than leave the control API dead (net/http does the same).
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			if s.Log != nil {
				s.Log.Warn("HTTP accept failed; retrying", "err", err, "in", backoff)
			}
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-s.ctx.Done():
				t.Stop()
			}
			continue
		}
		backoff = 0
		ok, closed := s.track(c)
		if closed {
			c.Close()
			return ErrServerClosed
		}
		if !ok {
			s.logf("HTTP connection refused: too many open", "remote", c.RemoteAddr().String())
			c.Close()
			continue
		}
		go s.serveConn(c)
	}
}

// track counts c as open unless the limits refuse it; closed once the
// Server is closed.
func (s *Server) track(c net.Conn) (ok, closed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, true
	}
	if !s.admit(c, len(s.conns)) {
		return false, false
	}
	if len(s.conns) == 0 {
		s.empty = make(chan struct{})
	}
	s.conns[c] = struct{}{}
	return true, false
}

func (s *Server) admit(c net.Conn, open int) bool {
	if s.Admit != nil {
		return s.Admit(c, open)
	}
	return s.MaxConns <= 0 || open < s.MaxConns
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.conns[c]; !ok {
		return
	}
	delete(s.conns, c)
	if len(s.conns) == 0 {
		close(s.empty)
	}
}

// Idle returns a channel closed once no connection is open (hijacked
// ones no longer count): with the listeners closed, the end of a
// graceful stop that does not cut a keep-alive client's next request.
// A connection accepted before Serve returned is counted.
func (s *Server) Idle() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	return s.empty
}

// Close stops every listener, closes every connection that is not
// hijacked and ends the requests' contexts.
func (s *Server) Close() error {
	s.mu.Lock()
	s.init()
	s.closed = true
	s.cancel()
	var cs []io.Closer
	for ln := range s.listeners {
		cs = append(cs, ln)
	}
	for c := range s.conns {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
	return nil
}

// Drain is Close that lets the answers being written finish: the listeners
// close, request contexts end (log streams stop), and each connection
// closes once it is between requests (an idle one at once). Idle tells
// when the last one is gone.
func (s *Server) Drain() {
	s.mu.Lock()
	s.init()
	s.closed, s.draining = true, true
	s.cancel()
	var lns []net.Listener
	for ln := range s.listeners {
		lns = append(lns, ln)
	}
	// Under s.mu: a connection sets its next read deadline under it too
	// (nextRead), so none waits out an idle timeout after this.
	for c := range s.conns {
		_ = c.SetReadDeadline(time.Now())
	}
	s.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
}

// nextRead arms the read deadline for a connection's next request; false
// when the server drains (the connection should close).
func (s *Server) nextRead(c net.Conn, d time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return false
	}
	if d > 0 {
		_ = c.SetReadDeadline(time.Now().Add(d))
	}
	return true
}

func (s *Server) logf(msg string, args ...any) {
	if s.Log != nil {
		s.Log.Debug(msg, args...)
	}
}

// maxDrain is how much of an unread request body is read past to keep
// the connection; more closes it.
const maxDrain = 256 << 10

func (s *Server) serveConn(c net.Conn) {
	w := &ResponseWriter{srv: s, conn: c, br: bufio.NewReaderSize(c, 4096), bw: bufio.NewWriterSize(c, 4096)}
	ctx := s.ctx
	if s.ConnContext != nil {
		ctx = s.ConnContext(ctx, c)
	}
	defer func() {
		if v := recover(); v != nil {
			if s.Log != nil {
				s.Log.Error("HTTP handler panicked", "remote", c.RemoteAddr().String(), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			}
			w.hijacked = false
		}
		// Untracked before closed: once the client sees the close, its
		// slot is free.
		s.untrack(c)
		if !w.hijacked {
			c.Close()
		}
	}()
	for first := true; ; first = false {
		d := s.IdleTimeout
		if first {
			d = s.ReadHeaderTimeout
		}
		if !s.nextRead(c, d) {
			return
		}
		if _, err := w.br.Peek(1); err != nil {
			return
		}
		if !first && s.ReadHeaderTimeout > 0 {
			_ = c.SetReadDeadline(time.Now().Add(s.ReadHeaderTimeout))
		}
		req, err := ReadRequest(w.br)
		if err != nil {
			s.logf("bad HTTP request", "remote", c.RemoteAddr().String(), "err", err)
			switch {
			case errors.Is(err, ErrHeadTooLarge):
				w.reset(nil)
				w.Error(431, "431 Request Header Fields Too Large")
			case errors.Is(err, ErrMalformed):
				w.reset(nil)
				w.Error(400, "400 Bad Request")
			default:
				return
			}
			lingerClose(c)
			return
		}
		var bodyDeadline time.Time
		if s.BodyTimeout > 0 {
			bodyDeadline = time.Now().Add(s.BodyTimeout)
		}
		_ = c.SetReadDeadline(bodyDeadline)
		req.RemoteAddr = c.RemoteAddr().String()
		req.ctx = ctx
		w.reset(req)
		if e := req.Header.Get("Expect"); e != "" {
			if !strings.EqualFold(e, "100-continue") {
				w.SetClose()
				w.Error(417, "417 Expectation Failed")
				lingerClose(c)
				return
			}
			if req.ContentLength != 0 {
				w.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
				if w.bw.Flush() != nil {
					return
				}
			}
		}
		s.Handler(w, req)
		if w.hijacked {
			s.untrack(c)
			return
		}
		if !w.wrote {
			w.Error(500, "500 Internal Server Error")
		}
		if w.err != nil {
			return
		}
		if w.close {
			if req.ContentLength != 0 {
				// The handler may have refused the body unread (413):
				// close only after the client could read the answer.
				lingerClose(c)
			}
			return
		}
		if n, err := io.CopyN(io.Discard, req.Body, maxDrain+1); n > maxDrain || (err != nil && !errors.Is(err, io.EOF)) {
			return
		}
	}
}

// lingerClose half-closes c and reads what the client still sends (for
// at most a second, up to maxLinger) so that closing with unread data
// does not reset the connection before the client read the answer (a
// 413 for a body still on its way).
func lingerClose(c net.Conn) {
	cw, ok := c.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	_, _ = io.CopyN(io.Discard, c, maxLinger)
}

// maxLinger bounds what lingerClose reads (the second bounds it too).
const maxLinger = 64 << 20

// ResponseWriter answers one request at a time on a connection.
type ResponseWriter struct {
	// Header holds the fields to send besides Date, Content-Length and
	// Connection, which Reply sets.
	Header Header

	srv      *Server
	conn     net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	req      *Request
	wrote    bool
	hijacked bool
	close    bool
	err      error
	head     []byte
}

func (w *ResponseWriter) reset(r *Request) {
	w.Header = w.Header[:0]
	w.req, w.wrote, w.err = r, false, nil
	w.close = r == nil || r.Close
}

// SetClose makes the connection end after this answer (a draining
// server tells keep-alive clients to move on).
func (w *ResponseWriter) SetClose() { w.close = true }

// Reply sends the whole answer: status, Header, and body framed by
// Content-Length (left out for HEAD). Only the first call sends.
func (w *ResponseWriter) Reply(status int, body []byte) error {
	if w.wrote || w.hijacked {
		return errors.New("httpwire: answer already sent")
	}
	w.wrote = true
	h := appendStatusLine(w.head[:0], status)
	h = append(h, "Date: "...)
	h = append(append(h, date()...), "\r\n"...)
	for _, f := range w.Header {
		h = append(append(append(append(h, f.Name...), ": "...), f.Value...), "\r\n"...)
	}
	h = append(h, "Content-Length: "...)
	h = append(strconv.AppendInt(h, int64(len(body)), 10), "\r\n"...)
	if w.close {
		h = append(h, "Connection: close\r\n"...)
	}
	h = append(h, "\r\n"...)
	w.head = h
	w.bw.Write(h)
	if w.req == nil || w.req.Method != "HEAD" {
		w.bw.Write(body)
	}
	w.err = w.bw.Flush()
	return w.err
}

// Error replies with status and msg as a text/plain body.
func (w *ResponseWriter) Error(status int, msg string) {
	w.Header.Set("Content-Type", "text/plain; charset=utf-8")
	w.Header.Set("X-Content-Type-Options", "nosniff")
	_ = w.Reply(status, []byte(msg+"\n"))
}

// Hijack hands the connection over to the caller, who must close it: it
// no longer counts for Idle and Close leaves it alone, and no read
// deadline is left on it. br holds what the client sent beyond the
// request.
func (w *ResponseWriter) Hijack() (net.Conn, *bufio.Reader, *bufio.Writer) {
	w.hijacked = true
	if w.srv != nil {
		w.srv.untrack(w.conn)
	}
	_ = w.conn.SetReadDeadline(time.Time{})
	return w.conn, w.br, w.bw
}
