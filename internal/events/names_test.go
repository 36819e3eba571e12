package events

import (
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/supervisor"
)

func TestSubscribed(t *testing.T) {
	for _, c := range []struct {
		subs []string
		name string
		want bool
	}{
		{[]string{"EVENT"}, "TICK_5", true},
		{[]string{"PROCESS_STATE"}, "PROCESS_STATE_EXITED", true},
		{[]string{"PROCESS_STATE_EXITED"}, "PROCESS_STATE_EXITED", true},
		{[]string{"PROCESS_STATE_EXITED"}, "PROCESS_STATE_FATAL", false},
		{[]string{"PROCESS_STATE"}, "PROCESS_STATE", true},
		{[]string{"TICK_60"}, "TICK_5", false},
		{[]string{"TICK"}, "TICK_3600", true},
		{[]string{"PROCESS_COMMUNICATION"}, "PROCESS_COMMUNICATION_STDERR", true},
		{[]string{"PROCESS_LOG"}, "PROCESS_LOG_STDOUT", true},
		{[]string{"SUPERVISOR_STATE_CHANGE"}, "SUPERVISOR_STATE_CHANGE_STOPPING", true},
		{[]string{"PROCESS_GROUP"}, "PROCESS_GROUP_REMOVED", true},
		{[]string{"PROCESS_STATE"}, "REMOTE_COMMUNICATION", false},
		{[]string{"EVENT"}, "REMOTE_COMMUNICATION", true},
		{nil, "EVENT", false},
	} {
		if got := Subscribed(c.subs, c.name); got != c.want {
			t.Errorf("Subscribed(%v, %s) = %v, want %v", c.subs, c.name, got, c.want)
		}
	}
}

// The payloads are supervisord 4.2.5's, as its listeners received them
// (reference §5 and a side-by-side run).
func TestPayloads(t *testing.T) {
	ps := func(from, to supervisor.State, pid, tries int, expected bool) supervisor.Event {
		return supervisor.Event{Kind: supervisor.EventProcessState, Group: "g", Name: "p",
			From: from, To: to, Pid: pid, Tries: tries, Expected: expected}
	}
	for _, c := range []struct {
		e             supervisor.Event
		name, payload string
	}{
		{ps(supervisor.Stopped, supervisor.Starting, 0, 0, true), "PROCESS_STATE_STARTING",
			"processname:p groupname:g from_state:STOPPED tries:0"},
		{ps(supervisor.Starting, supervisor.Backoff, 0, 4, true), "PROCESS_STATE_BACKOFF",
			"processname:p groupname:g from_state:STARTING tries:4"},
		{ps(supervisor.Starting, supervisor.Running, 42, 0, true), "PROCESS_STATE_RUNNING",
			"processname:p groupname:g from_state:STARTING pid:42"},
		{ps(supervisor.Running, supervisor.Stopping, 42, 0, true), "PROCESS_STATE_STOPPING",
			"processname:p groupname:g from_state:RUNNING pid:42"},
		{ps(supervisor.Backoff, supervisor.Stopped, 0, 0, true), "PROCESS_STATE_STOPPED",
			"processname:p groupname:g from_state:BACKOFF pid:0"},
		{ps(supervisor.Running, supervisor.Exited, 42, 0, false), "PROCESS_STATE_EXITED",
			"processname:p groupname:g from_state:RUNNING expected:0 pid:42"},
		{ps(supervisor.Running, supervisor.Exited, 42, 0, true), "PROCESS_STATE_EXITED",
			"processname:p groupname:g from_state:RUNNING expected:1 pid:42"},
		{ps(supervisor.Backoff, supervisor.Fatal, 0, 4, true), "PROCESS_STATE_FATAL",
			"processname:p groupname:g from_state:BACKOFF"},
		{supervisor.Event{Kind: supervisor.EventGroupAdded, Group: "web"}, "PROCESS_GROUP_ADDED", "groupname:web\n"},
		{supervisor.Event{Kind: supervisor.EventGroupRemoved, Group: "web"}, "PROCESS_GROUP_REMOVED", "groupname:web\n"},
		{supervisor.Event{Kind: supervisor.EventSupervisorState, Supervisor: supervisor.StateRunning}, "SUPERVISOR_STATE_CHANGE_RUNNING", ""},
		{supervisor.Event{Kind: supervisor.EventSupervisorState, Supervisor: supervisor.StateShutdown}, "SUPERVISOR_STATE_CHANGE_STOPPING", ""},
		{supervisor.Event{Kind: supervisor.EventSupervisorState, Supervisor: supervisor.StateRestarting}, "SUPERVISOR_STATE_CHANGE_STOPPING", ""},
		{supervisor.Event{Kind: supervisor.EventLimit, Group: "g", Name: "p", Pid: 42, Limit: &supervisor.LimitBreach{
			Resource: "memory", Value: 432013312, Max: 314572800, Held: 10 * time.Second, Action: "reload"}},
			"PROCESS_LIMIT_EXCEEDED", "processname:p groupname:g pid:42 resource:memory worker:0 value:432013312 limit:314572800 held:10.0 action:reload target:0"},
		{supervisor.Event{Kind: supervisor.EventLimit, Group: "g", Name: "p", Pid: 42, Limit: &supervisor.LimitBreach{
			Resource: "cpu", Worker: 43, Value: 180.5, Max: 150, Held: 2500 * time.Millisecond, Action: "signal:TERM", Target: 43}},
			"PROCESS_LIMIT_EXCEEDED", "processname:p groupname:g pid:42 resource:cpu worker:43 value:180.5 limit:150 held:2.5 action:signal:TERM target:43"},
		{supervisor.Event{Kind: supervisor.EventHealth, Group: "g", Name: "p", Pid: 42, Health: &supervisor.HealthFailure{
			Failures: 3, Error: "GET http://127.0.0.1:1/healthz: HTTP/1.1 503 Service Unavailable", Action: "reload"}},
			"PROCESS_HEALTH_FAILED", "processname:p groupname:g pid:42 failures:3 action:reload"},
	} {
		ev, ok := FromSupervisor(c.e)
		if !ok || ev.Name != c.name || ev.Payload != c.payload {
			t.Errorf("FromSupervisor(%+v) = %q %q %v, want %q %q", c.e, ev.Name, ev.Payload, ok, c.name, c.payload)
		}
	}
	for _, c := range []struct {
		ev            Event
		name, payload string
	}{
		{Remote("t", "x\ny"), "REMOTE_COMMUNICATION", "type:t\nx\ny"},
		{Communication("p", "g", 7, "stderr", []byte("abc")), "PROCESS_COMMUNICATION_STDERR", "processname:p groupname:g pid:7\nabc"},
		{Log("p", "g", 7, "stdout", []byte("line\n")), "PROCESS_LOG_STDOUT", "processname:p groupname:g pid:7 channel:stdout\nline\n"},
		{Tick(60, 1700000040), "TICK_60", "when:1700000040"},
	} {
		if c.ev.Name != c.name || c.ev.Payload != c.payload {
			t.Errorf("got %q %q, want %q %q", c.ev.Name, c.ev.Payload, c.name, c.payload)
		}
	}
}
