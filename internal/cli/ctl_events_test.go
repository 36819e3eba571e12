package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/rpc"
)

func TestEventLine(t *testing.T) {
	at := time.Date(2026, 12, 6, 12, 0, 1, 123456789, time.Local)
	for _, c := range []struct {
		e    rpc.EventJSON
		want string
	}{
		{rpc.EventJSON{Type: "PROCESS_STATE_RUNNING", Group: "web", Name: "web", From: "STARTING", To: "RUNNING", Pid: 123},
			"12:00:01.123 web RUNNING (pid 123)"},
		{rpc.EventJSON{Type: "PROCESS_STATE_EXITED", Group: "g", Name: "a", To: "EXITED", Pid: 7},
			"12:00:01.123 g:a EXITED (pid 7, unexpected)"},
		{rpc.EventJSON{Type: "PROCESS_STATE_BACKOFF", Group: "w", Name: "w", To: "BACKOFF", Tries: 2},
			"12:00:01.123 w BACKOFF (tries 2)"},
		{rpc.EventJSON{Type: "PROCESS_RELOAD_READY", Group: "web", Name: "web", Phase: "READY", Strategy: "bluegreen",
			OldPid: 1, NewPid: 2, ElapsedMs: 812.4}, "12:00:01.123 web reload READY bluegreen (old pid 1, new pid 2, 812 ms)"},
		{rpc.EventJSON{Type: "PROCESS_RELOAD_FAILED", Group: "web", Name: "web", Phase: "FAILED", Strategy: "bluegreen",
			OldPid: 1, Error: "not ready"}, "12:00:01.123 web reload FAILED bluegreen (old pid 1, 0 ms, not ready)"},
		{rpc.EventJSON{Type: "PROCESS_GROUP_ADDED", Group: "g"}, "12:00:01.123 group g added"},
		{rpc.EventJSON{Type: "SUPERVISOR_STATE_CHANGE_STOPPING", State: "RESTARTING"}, "12:00:01.123 daemon RESTARTING"},
		{rpc.EventJSON{Type: "PROCESS_HEALTH_FAILED", Group: "web", Name: "web", Pid: 42, Failures: 3, Action: "reload",
			Error: "GET http://127.0.0.1:8080/healthz: 503 Service Unavailable"},
			"12:00:01.123 web health check failed 3 times in a row, reload (pid 42, GET http://127.0.0.1:8080/healthz: 503 Service Unavailable)"},
		{rpc.EventJSON{Type: "DROVER_EVENTS_OVERFLOW", Error: "fell behind"}, "12:00:01.123 DROVER_EVENTS_OVERFLOW (fell behind)"},
	} {
		c.e.Time = at
		if got := eventLine(c.e); got != c.want {
			t.Errorf("got  %q\nwant %q", got, c.want)
		}
	}
}

// The reader takes data lines split anywhere across writes; the first
// bytes (the comment) say the stream is subscribed.
func TestSSEReader(t *testing.T) {
	done := make(chan struct{})
	r := &sseReader{subscribed: make(chan struct{}), events: make(chan []byte, 8), done: done}
	body := ": drover events\n\ndata: {\"a\":1}\n\ndata: {\"b\":2}\n\n"
	for i := 0; i < len(body); i += 5 {
		if _, err := r.Write([]byte(body[i:min(i+5, len(body))])); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			select {
			case <-r.subscribed:
			default:
				t.Fatal("not subscribed after the first bytes")
			}
		}
	}
	var got []string
	for len(r.events) > 0 {
		got = append(got, string(<-r.events))
	}
	if strings.Join(got, "|") != `{"a":1}|{"b":2}` {
		t.Fatalf("%q", got)
	}
	// A reader that left does not block the stream.
	close(done)
	for range 8 {
		r.events <- nil
	}
	if _, err := r.Write([]byte("data: x\n")); err != context.Canceled {
		t.Fatalf("write after the reader left: %v", err)
	}
}
