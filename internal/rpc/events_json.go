package rpc

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/drover-sh/drover/internal/supervisor"
)

// EventJSON is one event of GET /events as JSON, every field any type
// has (see docs/api.md): the stream's encoder writes each type's fields
// (process events always carry from, to, pid and tries, even when 0,
// and EXITED expected), and clients decode into it.
type EventJSON struct {
	// Type is supervisord's event name (PROCESS_STATE_RUNNING,
	// PROCESS_GROUP_ADDED, SUPERVISOR_STATE_CHANGE_RUNNING, ...) or
	// drover's own (PROCESS_RELOAD_<PHASE>, PROCESS_LIMIT_EXCEEDED,
	// DROVER_EVENTS_OVERFLOW).
	Type string    `json:"type"`
	Time time.Time `json:"time"`
	// Group and Name identify the process (Name is empty for a group).
	Group string `json:"group,omitempty"`
	Name  string `json:"name,omitempty"`

	From     string `json:"from,omitempty"`
	To       string `json:"to,omitempty"`
	Pid      int    `json:"pid,omitempty"`
	Tries    int    `json:"tries,omitempty"`
	Expected bool   `json:"expected,omitempty"`

	// State is the daemon's state (SUPERVISOR_STATE_CHANGE_*): RUNNING,
	// SHUTDOWN or RESTARTING.
	State string `json:"state,omitempty"`

	// A reload's step (PROCESS_RELOAD_*).
	Phase     string  `json:"phase,omitempty"`
	Strategy  string  `json:"strategy,omitempty"`
	OldPid    int     `json:"old_pid,omitempty"`
	NewPid    int     `json:"new_pid,omitempty"`
	ElapsedMs float64 `json:"elapsed_ms,omitempty"`
	Error     string  `json:"error,omitempty"`

	// A limit breach (PROCESS_LIMIT_EXCEEDED).
	Resource    string  `json:"resource,omitempty"`
	Worker      int     `json:"worker,omitempty"`
	Value       float64 `json:"value,omitempty"`
	Limit       float64 `json:"limit,omitempty"`
	HeldSeconds float64 `json:"held_seconds,omitempty"`
	Action      string  `json:"action,omitempty"`
	Target      int     `json:"target,omitempty"`

	// A failed health check (PROCESS_HEALTH_FAILED); Action and Error
	// above say what drover does and the last failure.
	Failures int `json:"failures,omitempty"`

	// Snapshot marks the synthetic PROCESS_STATE_* events `drover events`
	// prints for the states at its start (never on the stream).
	Snapshot bool `json:"snapshot,omitempty"`
}

// The wire forms, one per kind, so that a field that is meaningful for a
// type is always present.
type (
	evHead struct {
		Type  string `json:"type"`
		Time  string `json:"time"`
		Group string `json:"group,omitempty"`
		Name  string `json:"name,omitempty"`
	}
	evProcess struct {
		evHead
		From     string `json:"from"`
		To       string `json:"to"`
		Pid      int    `json:"pid"`
		Tries    int    `json:"tries"`
		Expected *bool  `json:"expected,omitempty"` // EXITED only
	}
	evSupervisor struct {
		evHead
		State string `json:"state"`
	}
	evReload struct {
		evHead
		Phase     string  `json:"phase"`
		Strategy  string  `json:"strategy"`
		Pid       int     `json:"pid"`
		OldPid    int     `json:"old_pid"`
		NewPid    int     `json:"new_pid"`
		ElapsedMs float64 `json:"elapsed_ms"`
		Error     string  `json:"error,omitempty"`
	}
	evLimit struct {
		evHead
		Pid         int     `json:"pid"`
		Resource    string  `json:"resource"`
		Worker      int     `json:"worker"`
		Value       float64 `json:"value"`
		Limit       float64 `json:"limit"`
		HeldSeconds float64 `json:"held_seconds"`
		Action      string  `json:"action"`
		Target      int     `json:"target"`
	}
	evHealth struct {
		evHead
		Pid      int    `json:"pid"`
		Failures int    `json:"failures"`
		Action   string `json:"action"`
		Error    string `json:"error"`
	}
)

// AppendEventJSON appends e's JSON (one line) to b; ok is false for a kind
// the stream does not carry.
func AppendEventJSON(b []byte, e supervisor.Event) ([]byte, bool) {
	head := evHead{Time: e.Time.Format(time.RFC3339Nano), Group: e.Group, Name: e.Name}
	var v any
	switch e.Kind {
	case supervisor.EventProcessState:
		head.Type = "PROCESS_STATE_" + e.To.String()
		p := evProcess{evHead: head, From: e.From.String(), To: e.To.String(), Pid: e.Pid, Tries: e.Tries}
		if e.To == supervisor.Exited {
			p.Expected = &e.Expected
		}
		v = p
	case supervisor.EventGroupAdded:
		head.Type = "PROCESS_GROUP_ADDED"
		v = head
	case supervisor.EventGroupRemoved:
		head.Type = "PROCESS_GROUP_REMOVED"
		v = head
	case supervisor.EventSupervisorState:
		// supervisord's names: the shutdown and the restart are STOPPING.
		head.Type = "SUPERVISOR_STATE_CHANGE_STOPPING"
		if e.Supervisor == supervisor.StateRunning {
			head.Type = "SUPERVISOR_STATE_CHANGE_RUNNING"
		}
		v = evSupervisor{head, e.Supervisor.String()}
	case supervisor.EventReload:
		r := e.Reload
		if r == nil {
			return b, false
		}
		head.Type = "PROCESS_RELOAD_" + string(r.Phase)
		v = evReload{head, string(r.Phase), r.Strategy, e.Pid, r.OldPid, r.NewPid,
			float64(r.Elapsed.Microseconds()) / 1000, r.Error}
	case supervisor.EventLimit:
		l := e.Limit
		if l == nil {
			return b, false
		}
		head.Type = "PROCESS_LIMIT_EXCEEDED"
		v = evLimit{head, e.Pid, l.Resource, l.Worker, l.Value, l.Max, l.Held.Seconds(), l.Action, l.Target}
	case supervisor.EventHealth:
		h := e.Health
		if h == nil {
			return b, false
		}
		head.Type = "PROCESS_HEALTH_FAILED"
		v = evHealth{head, e.Pid, h.Failures, h.Action, h.Error}
	default:
		return b, false
	}
	j, err := json.Marshal(v)
	if err != nil {
		return b, false
	}
	return append(b, j...), true
}

// overflowJSON is the last event of a stream that fell behind.
func overflowJSON(now time.Time) []byte {
	j, _ := json.Marshal(struct {
		evHead
		Error string `json:"error"`
	}{evHead{Type: "DROVER_EVENTS_OVERFLOW", Time: now.Format(time.RFC3339Nano)},
		"this client fell more than " + strconv.Itoa(EventBuffer) + " events behind; the stream ends (reconnect and re-read the state)"})
	return j
}
