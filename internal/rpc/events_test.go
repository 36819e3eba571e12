package rpc

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/httpwire"
	"github.com/drover-sh/drover/internal/supervisor"
)

var evT0 = time.Date(2026, 12, 6, 12, 0, 1, 123456789, time.UTC)

func procEvent(group, name string, from, to supervisor.State, pid int) supervisor.Event {
	return supervisor.Event{Kind: supervisor.EventProcessState, Time: evT0, Group: group, Name: name,
		From: from, To: to, Pid: pid}
}

// sseStream opens GET /events as user and returns its "data:" lines one by
// one (the empty string once the stream ended).
func sseStream(t *testing.T, url, user, pass string) (*http.Response, func() string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/events", nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	lines := make(chan string, 4096)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				lines <- d
			}
		}
	}()
	return resp, func() string {
		t.Helper()
		select {
		case l := <-lines:
			return l
		case <-time.After(10 * time.Second):
			t.Fatal("no event within 10 s")
			return ""
		}
	}
}

// The stream's framing: text/event-stream, chunked, a comment once
// subscribed, then one "data: <json>" message per event with each type's
// fields.
func TestEventsFraming(t *testing.T) {
	s, _ := newTestServer(t)
	url := listenInet(t, s, Credentials{})
	conn, br, headers := rawLogtail(t, strings.TrimPrefix(url, "http://"), "/events")
	defer conn.Close()
	hdr := strings.Join(headers, "\n")
	for _, want := range []string{"HTTP/1.1 200 OK", "Content-Type: text/event-stream", "Cache-Control: no-cache",
		"Transfer-Encoding: chunked"} {
		if !strings.Contains(hdr, want) {
			t.Fatalf("headers lack %q:\n%s", want, hdr)
		}
	}
	if got := readChunk(t, br); got != ": drover events\n\n" {
		t.Fatalf("first chunk %q", got)
	}
	exited := procEvent("web", "web", supervisor.Running, supervisor.Exited, 42)
	s.PublishEvent(exited)
	if got, want := readChunk(t, br), `data: {"type":"PROCESS_STATE_EXITED","time":"2026-12-06T12:00:01.123456789Z",`+
		`"group":"web","name":"web","from":"RUNNING","to":"EXITED","pid":42,"tries":0,"expected":false}`+"\n\n"; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	for _, c := range []struct {
		e    supervisor.Event
		want string
	}{
		{procEvent("g", "a", supervisor.Stopped, supervisor.Starting, 0),
			`{"type":"PROCESS_STATE_STARTING","time":"2026-12-06T12:00:01.123456789Z","group":"g","name":"a","from":"STOPPED","to":"STARTING","pid":0,"tries":0}`},
		{supervisor.Event{Kind: supervisor.EventGroupAdded, Time: evT0, Group: "g"},
			`{"type":"PROCESS_GROUP_ADDED","time":"2026-12-06T12:00:01.123456789Z","group":"g"}`},
		{supervisor.Event{Kind: supervisor.EventGroupRemoved, Time: evT0, Group: "g"},
			`{"type":"PROCESS_GROUP_REMOVED","time":"2026-12-06T12:00:01.123456789Z","group":"g"}`},
		{supervisor.Event{Kind: supervisor.EventSupervisorState, Time: evT0, Supervisor: supervisor.StateRestarting},
			`{"type":"SUPERVISOR_STATE_CHANGE_STOPPING","time":"2026-12-06T12:00:01.123456789Z","state":"RESTARTING"}`},
		{supervisor.Event{Kind: supervisor.EventReload, Time: evT0, Group: "web", Name: "web", Pid: 43,
			Reload: &supervisor.ReloadStep{Phase: supervisor.ReloadReady, Strategy: "bluegreen", OldPid: 42, NewPid: 43,
				Elapsed: 1500 * time.Microsecond}},
			`{"type":"PROCESS_RELOAD_READY","time":"2026-12-06T12:00:01.123456789Z","group":"web","name":"web","phase":"READY","strategy":"bluegreen","pid":43,"old_pid":42,"new_pid":43,"elapsed_ms":1.5}`},
		{supervisor.Event{Kind: supervisor.EventReload, Time: evT0, Group: "web", Name: "web", Pid: 42,
			Reload: &supervisor.ReloadStep{Phase: supervisor.ReloadFailed, Strategy: "bluegreen", OldPid: 42, Error: "not ready"}},
			`{"type":"PROCESS_RELOAD_FAILED","time":"2026-12-06T12:00:01.123456789Z","group":"web","name":"web","phase":"FAILED","strategy":"bluegreen","pid":42,"old_pid":42,"new_pid":0,"elapsed_ms":0,"error":"not ready"}`},
		{supervisor.Event{Kind: supervisor.EventHealth, Time: evT0, Group: "web", Name: "web", Pid: 42,
			Health: &supervisor.HealthFailure{Failures: 3, Action: "reload", Error: "connection refused"}},
			`{"type":"PROCESS_HEALTH_FAILED","time":"2026-12-06T12:00:01.123456789Z","group":"web","name":"web","pid":42,"failures":3,"action":"reload","error":"connection refused"}`},
	} {
		b, ok := AppendEventJSON(nil, c.e)
		if !ok || string(b) != c.want {
			t.Errorf("got  %s\nwant %s", b, c.want)
		}
		var back EventJSON
		if err := json.Unmarshal(b, &back); err != nil || !back.Time.Equal(evT0) {
			t.Errorf("%s does not decode into EventJSON: %v %v", b, err, back.Time)
		}
	}
	// A burst is sent whole, in order.
	for i := range 3 {
		s.PublishEvent(procEvent("g", "a", supervisor.Starting, supervisor.Running, 100+i))
	}
	var got strings.Builder
	for strings.Count(got.String(), "\n\n") < 3 {
		got.WriteString(readChunk(t, br))
	}
	for i, m := range strings.Split(strings.TrimSuffix(got.String(), "\n\n"), "\n\n") {
		if !strings.Contains(m, `"pid":`+strconv.Itoa(100+i)+",") {
			t.Fatalf("message %d: %s", i, m)
		}
	}
}

// Each caller sees the events of the programs it may read, as
// getAllProcessInfo shows them; a caller with no right is refused.
func TestEventsFiltered(t *testing.T) {
	s, _ := newTestServer(t)
	url, _ := accessServerOn(t, s)
	_, deploy := sseStream(t, url, "deploy", "d3ploy")
	_, ops := sseStream(t, url, "ops", "test")
	_, admin := sseStream(t, url, "admin", "secret")
	events := []supervisor.Event{
		procEvent("cat", "cat", supervisor.Stopped, supervisor.Starting, 0),
		procEvent("g", "a", supervisor.Stopped, supervisor.Starting, 0),
		{Kind: supervisor.EventGroupAdded, Time: evT0, Group: "cat"},
		{Kind: supervisor.EventGroupAdded, Time: evT0, Group: "g"},
		{Kind: supervisor.EventSupervisorState, Time: evT0, Supervisor: supervisor.StateRunning},
	}
	for _, e := range events {
		s.PublishEvent(e)
	}
	kinds := func(next func() string) []string {
		var out []string
		for {
			var e EventJSON
			if err := json.Unmarshal([]byte(next()), &e); err != nil {
				t.Fatal(err)
			}
			out = append(out, e.Type+" "+e.Group+":"+e.Name)
			if strings.HasPrefix(e.Type, "SUPERVISOR_") {
				return out
			}
		}
	}
	all := "PROCESS_STATE_STARTING cat:cat|PROCESS_STATE_STARTING g:a|PROCESS_GROUP_ADDED cat:|PROCESS_GROUP_ADDED g:|SUPERVISOR_STATE_CHANGE_RUNNING :"
	for who, next := range map[string]func() string{"ops": ops, "admin": admin} {
		if got := strings.Join(kinds(next), "|"); got != all {
			t.Errorf("%s saw %s, want %s", who, got, all)
		}
	}
	if got, want := strings.Join(kinds(deploy), "|"), "PROCESS_STATE_STARTING g:a|PROCESS_GROUP_ADDED g:|SUPERVISOR_STATE_CHANGE_RUNNING :"; got != want {
		t.Errorf("deploy saw %s, want %s", got, want)
	}
	req, _ := http.NewRequest("GET", url+"/events", nil)
	req.SetBasicAuth("intruder", "x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("intruder: %d, want 403", resp.StatusCode)
	}
}

// A client that does not read is dropped once EventBuffer events are
// queued for it: publishing never waits for it, and the stream it reads
// later ends with the overflow note. A client that leaves unsubscribes.
func TestEventsSlowClientDropped(t *testing.T) {
	s, _ := newTestServer(t)
	ended := make(chan struct{}, 4)
	s.onStreamEnd = func() { ended <- struct{}{} }
	url := listenInet(t, s, Credentials{})
	conn, br, _ := rawLogtail(t, strings.TrimPrefix(url, "http://"), "/events")
	defer conn.Close()
	readChunk(t, br) // subscribed
	// Far more than the socket buffers and EventBuffer hold: the stream's
	// writer blocks, its queue fills.
	const n = 200_000
	t0 := time.Now()
	for i := range n {
		s.PublishEvent(procEvent("g", "a", supervisor.Starting, supervisor.Running, i+1))
	}
	took := time.Since(t0)
	if s.events.n.Load() != 0 {
		t.Fatalf("the slow client is still subscribed")
	}
	t.Logf("%d events published in %v (%v each) with a client not reading", n, took, took/n)
	if took > 5*time.Second {
		t.Fatalf("publishing %d events took %v: it waited for the client", n, took)
	}
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	var last string
	got := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("after %d events: %v (last %q)", got, err, last)
		}
		if line == "0\r\n" {
			break // the last chunk
		}
		if strings.HasPrefix(line, "data: ") {
			got++
			last = line
		}
	}
	if !strings.Contains(last, `"type":"DROVER_EVENTS_OVERFLOW"`) || got < EventBuffer || got >= n {
		t.Fatalf("%d messages, last %s", got, last)
	}
	t.Logf("the dropped client got %d of %d events, then the overflow note", got-1, n)
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream did not end")
	}

	// A client that goes away unsubscribes; nothing is queued without one.
	conn2, br2, _ := rawLogtail(t, strings.TrimPrefix(url, "http://"), "/events")
	readChunk(t, br2)
	if s.events.n.Load() != 1 {
		t.Fatalf("%d subscribed", s.events.n.Load())
	}
	conn2.Close()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("stream did not end after the client left")
	}
	if s.events.n.Load() != 0 {
		t.Fatalf("%d subscribed after the client left", s.events.n.Load())
	}
}

// A read-only listener serves the stream (it is a read); HTTP/1.0 gets a
// raw body; POST is refused.
func TestEventsReadOnlyHTTP10(t *testing.T) {
	s, _ := newTestServer(t)
	srv := &httpwire.Server{Handler: s.Handler(Credentials{}, true, false)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	defer s.Close()
	head, br := getHTTP10(t, ln.Addr().String(), "/events")
	if !strings.HasPrefix(head.String(), "HTTP/1.0 200 OK") || strings.Contains(head.String(), "chunked") ||
		!strings.Contains(head.String(), "Content-Type: text/event-stream") {
		t.Fatalf("HTTP/1.0 headers:\n%s", head.String())
	}
	if l, _ := br.ReadString('\n'); l != ": drover events\n" {
		t.Fatalf("first line %q", l)
	}
	br.ReadString('\n')
	s.PublishEvent(procEvent("cat", "cat", supervisor.Running, supervisor.Stopping, 9))
	if l, _ := br.ReadString('\n'); !strings.HasPrefix(l, `data: {"type":"PROCESS_STATE_STOPPING"`) {
		t.Fatalf("event line %q", l)
	}
	resp, err := http.Post("http://"+ln.Addr().String()+"/events", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("POST /events: %d", resp.StatusCode)
	}
}
