// Package events runs supervisord's event listener pools: it turns the
// supervisor's state changes, ticks, captured output and remote messages
// into supervisord's events, buffers them per [eventlistener:x] pool and
// speaks the listener protocol (READY / RESULT) over each listener's stdio.
//
// One goroutine (Dispatcher.Run) owns every pool and listener; the daemon,
// the log pump and the reaper only send it messages.
package events

import (
	"slices"
	"strconv"
	"strings"

	"github.com/drover-sh/drover/internal/supervisor"
)

// parent is the type an event type is a subtype of ("" for EVENT): a pool
// subscribed to a type gets its subtypes too, as supervisord's isinstance.
func parent(name string) string {
	for _, base := range [...]string{"PROCESS_STATE", "PROCESS_LOG", "PROCESS_COMMUNICATION",
		"PROCESS_GROUP", "SUPERVISOR_STATE_CHANGE", "TICK"} {
		if strings.HasPrefix(name, base+"_") {
			return base
		}
	}
	if name == "EVENT" {
		return ""
	}
	return "EVENT"
}

// Subscribed reports whether a pool subscribed to subs receives events of
// type name.
func Subscribed(subs []string, name string) bool {
	for n := name; n != ""; n = parent(n) {
		if slices.Contains(subs, n) {
			return true
		}
	}
	return false
}

// Event is one event: its type name and its payload text.
type Event struct {
	Name    string
	Payload string
}

// FromSupervisor converts a supervisor event; ok is false for kinds that
// have no supervisord event.
func FromSupervisor(e supervisor.Event) (ev Event, ok bool) {
	switch e.Kind {
	case supervisor.EventProcessState:
		return processState(e), true
	case supervisor.EventGroupAdded:
		return Event{"PROCESS_GROUP_ADDED", "groupname:" + e.Group + "\n"}, true
	case supervisor.EventGroupRemoved:
		return Event{"PROCESS_GROUP_REMOVED", "groupname:" + e.Group + "\n"}, true
	case supervisor.EventSupervisorState:
		if e.Supervisor == supervisor.StateRunning {
			return Event{Name: "SUPERVISOR_STATE_CHANGE_RUNNING"}, true
		}
		// supervisord calls both the shutdown and the restart STOPPING.
		return Event{Name: "SUPERVISOR_STATE_CHANGE_STOPPING"}, true
	case supervisor.EventLimit:
		if e.Limit != nil {
			return limitExceeded(e), true
		}
	case supervisor.EventHealth:
		if h := e.Health; h != nil {
			// drover's own; the failure's text is not a token (it has
			// spaces): the main log and GET /events carry it.
			return Event{"PROCESS_HEALTH_FAILED", "processname:" + e.Name + " groupname:" + e.Group +
				" pid:" + strconv.Itoa(e.Pid) + " failures:" + strconv.Itoa(h.Failures) + " action:" + h.Action}, true
		}
	}
	return Event{}, false
}

// limitExceeded is drover's own PROCESS_LIMIT_EXCEEDED: the watchdog acts
// on a breach. value and limit are bytes (memory) or percent of one CPU
// (cpu); worker is the process over worker_memory_limit (0: the whole
// tree); target the signalled worker (0 for reload).
func limitExceeded(e supervisor.Event) Event {
	b := e.Limit
	return Event{"PROCESS_LIMIT_EXCEEDED", "processname:" + e.Name + " groupname:" + e.Group +
		" pid:" + strconv.Itoa(e.Pid) + " resource:" + b.Resource + " worker:" + strconv.Itoa(b.Worker) +
		" value:" + strconv.FormatFloat(b.Value, 'f', -1, 64) + " limit:" + strconv.FormatFloat(b.Max, 'f', -1, 64) +
		" held:" + strconv.FormatFloat(b.Held.Seconds(), 'f', 1, 64) + " action:" + b.Action +
		" target:" + strconv.Itoa(b.Target)}
}

// processState is PROCESS_STATE_<To> with supervisord's tokens: tries for
// STARTING and BACKOFF, pid for RUNNING, STOPPING and STOPPED, expected and
// pid for EXITED, nothing more for FATAL and UNKNOWN.
func processState(e supervisor.Event) Event {
	b := make([]byte, 0, 96)
	b = append(b, "processname:"...)
	b = append(b, e.Name...)
	b = append(b, " groupname:"...)
	b = append(b, e.Group...)
	b = append(b, " from_state:"...)
	b = append(b, e.From.String()...)
	switch e.To {
	case supervisor.Starting, supervisor.Backoff:
		b = append(b, " tries:"...)
		b = strconv.AppendInt(b, int64(e.Tries), 10)
	case supervisor.Running, supervisor.Stopping, supervisor.Stopped:
		b = append(b, " pid:"...)
		b = strconv.AppendInt(b, int64(e.Pid), 10)
	case supervisor.Exited:
		b = append(b, " expected:"...)
		if e.Expected {
			b = append(b, '1')
		} else {
			b = append(b, '0')
		}
		b = append(b, " pid:"...)
		b = strconv.AppendInt(b, int64(e.Pid), 10)
	}
	return Event{"PROCESS_STATE_" + e.To.String(), string(b)}
}

// Remote is REMOTE_COMMUNICATION (supervisor.sendRemoteCommEvent).
func Remote(typ, data string) Event {
	return Event{"REMOTE_COMMUNICATION", "type:" + typ + "\n" + data}
}

// Communication is PROCESS_COMMUNICATION_<CHANNEL>: what a process wrote
// between the capture-mode tokens on channel ("stdout" or "stderr").
func Communication(name, group string, pid int, channel string, data []byte) Event {
	return Event{"PROCESS_COMMUNICATION_" + strings.ToUpper(channel),
		"processname:" + name + " groupname:" + group + " pid:" + strconv.Itoa(pid) + "\n" + string(data)}
}

// Log is PROCESS_LOG_<CHANNEL>: one read of a process's output, for
// *_events_enabled.
func Log(name, group string, pid int, channel string, data []byte) Event {
	return Event{"PROCESS_LOG_" + strings.ToUpper(channel),
		"processname:" + name + " groupname:" + group + " pid:" + strconv.Itoa(pid) +
			" channel:" + channel + "\n" + string(data)}
}

// Tick is TICK_<period>: when is the time rounded down to the period.
func Tick(period int64, when int64) Event {
	return Event{"TICK_" + strconv.FormatInt(period, 10), "when:" + strconv.FormatInt(when, 10)}
}
