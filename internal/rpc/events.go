package rpc

import (
	"bufio"
	"fmt"
	"net"
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

// eventSub is one stream's subscription. Its queue grows with what the
// client has not taken yet (nothing is reserved up front: a stream that
// keeps up holds a few events), up to EventBuffer.
type eventSub struct {
	// queue, ended and overflowed are guarded by the hub's mu.
	queue      []supervisor.Event
	ended      bool // no more events: unsubscribed or overflowed
	overflowed bool
	wake       chan struct{} // cap 1: something to take
	conn       net.Conn
}

func (h *eventHub) subscribe(conn net.Conn) *eventSub {
	s := &eventSub{wake: make(chan struct{}, 1), conn: conn}
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
		s.ended = true
		s.poke()
	}
	h.n.Store(int32(len(h.subs)))
	h.mu.Unlock()
}

func (s *eventSub) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// take returns what s has queued (its slice: spare becomes the queue) and
// whether the stream ended after it.
func (h *eventHub) take(s *eventSub, spare []supervisor.Event) (batch []supervisor.Event, ended, overflowed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	batch, s.queue = s.queue, spare[:0]
	return batch, s.ended, s.overflowed
}

// publish hands e to every stream without waiting: a stream that has
// EventBuffer events queued is dropped (what it holds is still sent, its
// connection given overflowWait to take it).
func (h *eventHub) publish(e supervisor.Event) {
	if h.n.Load() == 0 {
		return
	}
	h.mu.Lock()
	for s := range h.subs {
		if len(s.queue) >= EventBuffer {
			s.overflowed, s.ended = true, true
			delete(h.subs, s)
			if s.conn != nil {
				_ = s.conn.SetWriteDeadline(time.Now().Add(overflowWait))
			}
		} else {
			s.queue = append(s.queue, e)
		}
		s.poke()
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
	conn, br, bw, release, ok := s.hijackStream(w)
	if !ok {
		return
	}
	defer release()
	sub := s.events.subscribe(conn)
	defer s.events.unsubscribe(sub)

	// The subscription's end also ends the loop below.
	_, end := s.watchStream(conn, br, func() { s.events.unsubscribe(sub) })
	defer end()
	head, chunked := s.streamHead(r, "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n")
	bw.WriteString(head)
	// A comment first: a client that got it knows it is subscribed.
	sse := &sseWriter{bw: bw, chunked: chunked}
	sse.buf = append(sse.buf, ": drover events\n\n"...)
	if sse.flush() != nil {
		return
	}
	var spare []supervisor.Event
	for range sub.wake {
		batch, ended, overflowed := s.events.take(sub, spare)
		for _, e := range batch {
			if visibleEvent(g.rights, e) {
				sse.event(e)
			}
		}
		if overflowed {
			sse.data(overflowJSON(time.Now()))
		}
		// A burst goes out in one write.
		if sse.flush() != nil {
			return
		}
		if ended {
			break
		}
		clear(batch)
		spare = batch
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
