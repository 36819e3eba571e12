package rpc

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drover-sh/drover/internal/access"
	"github.com/drover-sh/drover/internal/httpwire"
	"github.com/drover-sh/drover/internal/supervisor"
)

// EventBuffer is how many events a /events client may be behind before it
// is dropped: the publisher (the supervisor's owner goroutine) never waits
// for a client.
const EventBuffer = 1024

// overflowWait bounds how long a dropped client gets to take the note that
// says so (and what was queued before it) once it overflowed.
const overflowWait = 5 * time.Second

// eventHub fans the supervisor's events out to the /events streams. With no
// stream it costs one atomic load per event.
type eventHub struct {
	n    atomic.Int32
	mu   sync.Mutex
	subs map[*eventSub]struct{}
}

// eventSub is one stream's subscription: ch is closed when the stream
// fell EventBuffer events behind (overflowed) or the Server closed.
type eventSub struct {
	ch         chan supervisor.Event
	overflowed bool // set before ch is closed; read after ch is drained
	conn       net.Conn
}

func (h *eventHub) subscribe(conn net.Conn) *eventSub {
	s := &eventSub{ch: make(chan supervisor.Event, EventBuffer), conn: conn}
	h.mu.Lock()
	if h.subs == nil {
		h.subs = make(map[*eventSub]struct{})
	}
	h.subs[s] = struct{}{}
	h.n.Store(int32(len(h.subs)))
	h.mu.Unlock()
	return s
}

// unsubscribe ends s unless the hub already did.
func (h *eventHub) unsubscribe(s *eventSub) {
	h.mu.Lock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.ch)
	}
	h.n.Store(int32(len(h.subs)))
	h.mu.Unlock()
}

// publish hands e to every stream without waiting: a stream whose buffer
// is full is dropped (its channel closed after what it holds, its
// connection given overflowWait to take it).
func (h *eventHub) publish(e supervisor.Event) {
	if h.n.Load() == 0 {
		return
	}
	h.mu.Lock()
	for s := range h.subs {
		select {
		case s.ch <- e:
		default:
			s.overflowed = true
			delete(h.subs, s)
			close(s.ch)
			if s.conn != nil {
				_ = s.conn.SetWriteDeadline(time.Now().Add(overflowWait))
			}
		}
	}
	h.n.Store(int32(len(h.subs)))
	h.mu.Unlock()
}

// PublishEvent hands a supervisor event to the /events streams. The daemon
// calls it from the supervisor's observer; it never blocks.
func (s *Server) PublishEvent(e supervisor.Event) { s.events.publish(e) }

// serveEvents answers GET /events: Server-Sent Events, one "data:" line of
// JSON per supervisor event the caller may read (see EventJSON), from the
// moment the response headers are sent until the client goes away or
// falls EventBuffer events behind (then a DROVER_EVENTS_OVERFLOW event is
// sent, if the client takes it, and the stream ends).
func (s *Server) serveEvents(w *httpwire.ResponseWriter, r *httpwire.Request) {
	if r.Method != "GET" {
		w.Error(400, "400 Bad Request")
		return
	}
	g := grantFrom(r.Context())
	if !g.rights.Any() {
		s.d.audit(g, "GET /events", nil, supervisor.NewFault(supervisor.CodeFailed,
			"access denied: "+g.who()+": no [access:x] rule names it"))
		w.Error(403, "403 Forbidden")
		return
	}
	if !s.startStream() {
		w.Error(503, "503 Service Unavailable: too many streams")
		return
	}
	defer s.endStream()
	conn, br, bw := w.Hijack()
	defer conn.Close()
	if s.onStreamEnd != nil {
		defer s.onStreamEnd()
	}
	sub := s.events.subscribe(conn)
	defer s.events.unsubscribe(sub)

	// The client sends nothing more: EOF or an error means it is gone;
	// closing the connection then (or at Close) ends a blocked write, and
	// the subscription ends the loop below.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		conn.Close()
		s.events.unsubscribe(sub)
	})
	defer stop()
	go func() {
		_, _ = io.Copy(io.Discard, br)
		cancel()
	}()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()

	chunked := r.AtLeast(1, 1)
	var h strings.Builder
	fmt.Fprintf(&h, "HTTP/%d.%d 200 OK\r\n", r.Major, r.Minor)
	fmt.Fprintf(&h, "Server: %s\r\n", s.opts.ServerHeader)
	fmt.Fprintf(&h, "Date: %s\r\n", time.Now().UTC().Format(httpwire.TimeFormat))
	h.WriteString("Content-Type: text/event-stream\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n")
	if chunked {
		h.WriteString("Transfer-Encoding: chunked\r\n")
	} else {
		h.WriteString("Connection: close\r\n")
	}
	h.WriteString("\r\n")
	bw.WriteString(h.String())
	// A comment first: a client that got it knows it is subscribed.
	sse := &sseWriter{bw: bw, chunked: chunked}
	sse.buf = append(sse.buf, ": drover events\n\n"...)
	if sse.flush() != nil {
		return
	}
	for e := range sub.ch {
		if visibleEvent(g.rights, e) {
			sse.event(e)
		}
		// Flush once the queue is empty: a burst goes out in one write.
		if len(sub.ch) == 0 && sse.flush() != nil {
			return
		}
	}
	if sub.overflowed {
		sse.data(overflowJSON(time.Now()))
		if sse.flush() != nil {
			return
		}
	}
	if chunked {
		writeLastChunk(bw)
	}
}

// visibleEvent reports whether a caller with r may see e: process events
// need read on the process (as getAllProcessInfo filters), group events on
// the group, the daemon's state any right.
func visibleEvent(r access.Rights, e supervisor.Event) bool {
	if r.IsAll() {
		return true
	}
	switch {
	case e.Name != "":
		return r.Process(access.Read, e.Group, e.Name)
	case e.Group != "":
		return r.Group(access.Read, e.Group)
	}
	return r.Any()
}

// sseWriter frames events as Server-Sent Events, in HTTP chunks when
// chunked.
type sseWriter struct {
	bw      *bufio.Writer
	chunked bool
	buf     []byte
}

func (w *sseWriter) event(e supervisor.Event) {
	if b, ok := AppendEventJSON(nil, e); ok {
		w.data(b)
	}
}

// data adds one message with the (single-line) JSON b.
func (w *sseWriter) data(b []byte) {
	w.buf = append(w.buf, "data: "...)
	w.buf = append(w.buf, b...)
	w.buf = append(w.buf, "\n\n"...)
}

func (w *sseWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	if w.chunked {
		fmt.Fprintf(w.bw, "%x\r\n", len(w.buf))
	}
	w.bw.Write(w.buf)
	if w.chunked {
		w.bw.WriteString("\r\n")
	}
	w.buf = w.buf[:0]
	return w.bw.Flush()
}
