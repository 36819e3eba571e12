package events

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/supervisor"
)

// rig runs a Dispatcher inside a synctest bubble; listeners get recording
// stdins (rig.stdin).
type rig struct {
	t      *testing.T
	d      *Dispatcher
	mu     sync.Mutex
	writes []string // "pid|data"
	log    bytes.Buffer
}

func newRig(t *testing.T, pools ...*config.Group) *rig {
	r := &rig{t: t}
	log := slog.New(slog.NewTextHandler(lockedWriter{&r.mu, &r.log}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r.d = New(Options{Identifier: "supervisor", Log: log})
	go r.d.Run()
	t.Cleanup(r.d.Close)
	for _, p := range pools {
		r.d.Observe(supervisor.Event{Kind: supervisor.EventGroupAdded, Group: p.Name, Config: p})
	}
	// The pools exist before the test publishes (supervisor events and
	// the methods' messages arrive on different channels).
	synctest.Wait()
	return r
}

// stdin is listener pid's recording stdin.
func (r *rig) stdin(pid int) io.Writer { return stdinOf{r, pid} }

type stdinOf struct {
	r   *rig
	pid int
}

func (w stdinOf) Write(data []byte) (int, error) {
	w.r.mu.Lock()
	w.r.writes = append(w.r.writes, fmt.Sprintf("%d|%s", w.pid, data))
	w.r.mu.Unlock()
	return len(data), nil
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func listenerPool(name string, size int, events ...string) *config.Group {
	return &config.Group{Name: name, Kind: config.KindEventListener, Events: events, BufferSize: size,
		Processes: []*config.Process{{Name: name, Group: name, EventListener: true}}}
}

// takeWrites waits for the bubble to settle and returns the writes since
// the last call.
func (r *rig) takeWrites() []string {
	synctest.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.writes
	r.writes = nil
	return w
}

func (r *rig) logText() string {
	synctest.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.String()
}

func (r *rig) running(group string, pid int) {
	r.d.Observe(supervisor.Event{Kind: supervisor.EventProcessState, Group: group, Name: group,
		From: supervisor.Starting, To: supervisor.Running, Pid: pid})
}

// busyRig is a rig whose listener (pid 100) holds the remote event "x".
func busyRig(t *testing.T) *rig {
	r := newRig(t, listenerPool("watch", 10, "REMOTE_COMMUNICATION"))
	r.d.Spawned("watch", "watch", 100, r.stdin(100))
	r.d.Output(100, []byte("READY\n"))
	r.running("watch", 100)
	r.remote("x")
	r.want(r.takeWrites(), env(100, 0, 0, "type:t\nx"))
	return r
}

func (r *rig) remote(data string) { r.d.Publish(Remote("t", data)) }

func (r *rig) want(got []string, want ...string) {
	r.t.Helper()
	if strings.Join(got, "\n--\n") != strings.Join(want, "\n--\n") {
		r.t.Fatalf("writes:\n%s\nwant:\n%s", strings.Join(got, "\n--\n"), strings.Join(want, "\n--\n"))
	}
}

func env(pid, serial, poolSerial int, payload string) string {
	return fmt.Sprintf("%d|ver:3.0 server:supervisor serial:%d pool:watch poolserial:%d eventname:REMOTE_COMMUNICATION len:%d\n%s",
		pid, serial, poolSerial, len([]rune(payload)), payload)
}

// Events wait in the buffer until the listener is both READY and RUNNING;
// a FAIL puts the event back at the head, OK moves on.
func TestDispatchReadyRunningRejectAccept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, listenerPool("watch", 10, "REMOTE_COMMUNICATION"))
		r.remote("one")
		r.remote("two")
		r.d.Spawned("watch", "watch", 100, r.stdin(100))
		r.d.Output(100, []byte("READY\n"))
		r.want(r.takeWrites()) // STARTING: nothing yet
		r.running("watch", 100)
		r.want(r.takeWrites(), env(100, 0, 0, "type:t\none"))
		r.d.Output(100, []byte("RESULT 4\nFAIL"))
		r.want(r.takeWrites())
		r.d.Output(100, []byte("READY\n"))
		r.want(r.takeWrites(), env(100, 0, 0, "type:t\none"))
		r.d.Output(100, []byte("RESULT 2\nOKREADY\n"))
		r.want(r.takeWrites(), env(100, 1, 1, "type:t\ntwo"))
		if !strings.Contains(r.logText(), "watch: event was rejected") {
			t.Errorf("no rejection warning in:\n%s", r.logText())
		}
	})
}

// A listener that dies while BUSY gives its event back; the next process
// gets it once READY and RUNNING. Output of the dead pid is ignored.
func TestDispatchListenerDiesBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := busyRig(t)
		r.d.Exited(100)
		r.d.Output(100, []byte("RESULT 2\nOK"))
		r.d.Spawned("watch", "watch", 200, r.stdin(200))
		r.d.Output(200, []byte("READY\n"))
		r.want(r.takeWrites())
		r.running("watch", 200)
		r.want(r.takeWrites(), env(200, 0, 0, "type:t\nx"))
	})
}

// A protocol error makes the listener UNKNOWN: its event goes back and it
// gets nothing more until it is spawned again.
func TestDispatchBrokenListener(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := busyRig(t)
		r.d.Output(100, []byte("RESULT ok\n"))
		r.d.Output(100, []byte("READY\n"))
		r.want(r.takeWrites())
		if !strings.Contains(r.logText(), "watch: bad result line: 'RESULT ok'") {
			t.Errorf("no bad-line warning in:\n%s", r.logText())
		}
		r.d.Spawned("watch", "watch", 101, r.stdin(101))
		r.running("watch", 101)
		r.d.Output(101, []byte("READY\n"))
		r.want(r.takeWrites(), env(101, 0, 0, "type:t\nx"))
	})
}

// A full buffer drops its oldest event with supervisord's error line; the
// global serial counts only events some pool accepted; len counts
// characters, not bytes.
func TestDispatchOverflowSerialsLen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, listenerPool("watch", 2, "REMOTE_COMMUNICATION"))
		r.d.Publish(Tick(5, 0)) // nobody subscribed: takes no serial
		r.remote("a")
		r.remote("b")
		r.remote("é")
		if !strings.Contains(r.logText(), "pool watch event buffer overflowed, discarding event 0") {
			t.Fatalf("no overflow line in:\n%s", r.logText())
		}
		r.d.Spawned("watch", "watch", 100, r.stdin(100))
		r.running("watch", 100)
		r.d.Output(100, []byte("READY\n"))
		r.want(r.takeWrites(), env(100, 1, 1, "type:t\nb"))
		r.d.Output(100, []byte("RESULT 2\nOKREADY\n"))
		got := r.takeWrites()
		r.want(got, env(100, 2, 2, "type:t\né"))
		if !strings.Contains(got[0], "len:8\n") {
			t.Errorf("len should count 8 characters (9 bytes): %q", got[0])
		}
	})
}

// Ticks come at each period boundary, none at start-up, with when rounded
// down to the period; none once the pool is gone.
func TestDispatchTicks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now() // the bubble's clock: midnight, on a boundary
		r := newRig(t, listenerPool("watch", 10, "TICK_5"))
		r.d.Spawned("watch", "watch", 100, r.stdin(100))
		r.running("watch", 100)
		r.d.Output(100, []byte("READY\n"))
		r.want(r.takeWrites())
		time.Sleep(7 * time.Second)
		when := start.Unix() + 5
		r.want(r.takeWrites(), fmt.Sprintf("100|ver:3.0 server:supervisor serial:0 pool:watch poolserial:0 eventname:TICK_5 len:%d\nwhen:%d",
			len(fmt.Sprint("when:", when)), when))
		r.d.Output(100, []byte("RESULT 2\nOKREADY\n"))
		time.Sleep(5 * time.Second)
		if got := r.takeWrites(); len(got) != 1 || !strings.HasSuffix(got[0], fmt.Sprint("when:", when+5)) {
			t.Fatalf("second tick: %q", got)
		}
		r.d.Observe(supervisor.Event{Kind: supervisor.EventGroupRemoved, Group: "watch"})
		synctest.Wait()
		time.Sleep(time.Hour)
		if r.takeWrites() != nil {
			t.Fatal("a tick after its pool was removed")
		}
	})
}

// DrainPool answers once the pool has nothing buffered or held, counting
// the supervisor events observed before the call (the shutdown's
// SUPERVISOR_STATE_CHANGE_STOPPING); an unknown pool answers at once.
func TestDrainPool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, listenerPool("watch", 10, "SUPERVISOR_STATE_CHANGE"))
		r.d.Spawned("watch", "watch", 100, r.stdin(100))
		r.running("watch", 100)
		r.d.Output(100, []byte("READY\n"))
		r.want(r.takeWrites())
		var drained, other bool
		r.d.Observe(supervisor.Event{Kind: supervisor.EventSupervisorState, Supervisor: supervisor.StateShutdown})
		r.d.DrainPool("watch", func() { drained = true })
		r.d.DrainPool("nope", func() { other = true })
		got := r.takeWrites()
		if len(got) != 1 || !strings.Contains(got[0], "eventname:SUPERVISOR_STATE_CHANGE_STOPPING len:0\n") {
			t.Fatalf("writes %q", got)
		}
		if drained || !other {
			t.Fatalf("drained=%v before the answer, unknown pool answered=%v", drained, other)
		}
		r.d.Output(100, []byte("RESULT 2\nOK"))
		synctest.Wait()
		if !drained {
			t.Fatal("not drained after the answer")
		}
	})
}

// Without a listener pool Observe queues nothing (no wake-up per state
// change); from a pool's PROCESS_GROUP_ADDED on it queues everything, up to
// and including that pool's removal.
func TestObserveOnlyWithPools(t *testing.T) {
	d := New(Options{})
	queued := func() int { d.qmu.Lock(); defer d.qmu.Unlock(); return len(d.queue) }
	st := supervisor.Event{Kind: supervisor.EventProcessState, Group: "a", Name: "a", To: supervisor.Running}
	d.Observe(supervisor.Event{Kind: supervisor.EventGroupAdded, Group: "a", Config: &config.Group{Name: "a"}})
	d.Observe(st)
	d.Observe(supervisor.Event{Kind: supervisor.EventGroupRemoved, Group: "a"})
	if n := queued(); n != 0 || d.Wanted() {
		t.Fatalf("%d events queued without a pool (Wanted %v)", n, d.Wanted())
	}
	w := listenerPool("w", 1, "EVENT")
	d.Observe(supervisor.Event{Kind: supervisor.EventGroupAdded, Group: "w", Config: w})
	d.Observe(st)
	if !d.Wanted() {
		t.Fatal("a pool exists but Wanted is false")
	}
	d.Observe(supervisor.Event{Kind: supervisor.EventGroupRemoved, Group: "w"})
	if d.Wanted() {
		t.Fatal("the last pool is gone but Wanted is true")
	}
	d.Observe(st)
	if n := queued(); n != 3 {
		t.Fatalf("%d events queued, want 3 (added, state, removed)", n)
	}
}
