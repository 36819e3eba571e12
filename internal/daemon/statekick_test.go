package daemon

import (
	"testing"

	"github.com/drover-sh/drover/internal/supervisor"
)

// TestStateWriteUrgency: an event that gives a process a live pid (or a
// settled stop) writes the state file at once; an exit, a STARTING without
// its pid and a stop under way wait for what follows (an autorestart's
// EventPidChanged), so a respawn makes one write, after its exec.
func TestStateWriteUrgency(t *testing.T) {
	ps := func(from, to supervisor.State) supervisor.Event {
		return supervisor.Event{Kind: supervisor.EventProcessState, From: from, To: to}
	}
	for _, c := range []struct {
		name           string
		e              supervisor.Event
		matters, waits bool
	}{
		{"spawned pid", supervisor.Event{Kind: supervisor.EventPidChanged, Pid: 42}, true, false},
		{"reload", supervisor.Event{Kind: supervisor.EventReload}, true, false},
		{"group added", supervisor.Event{Kind: supervisor.EventGroupAdded}, true, false},
		{"running -> exited", ps(supervisor.Running, supervisor.Exited), true, true},
		{"starting -> backoff", ps(supervisor.Starting, supervisor.Backoff), true, true},
		{"exited -> starting", ps(supervisor.Exited, supervisor.Starting), true, true},
		{"running -> stopping", ps(supervisor.Running, supervisor.Stopping), true, true},
		{"stopping -> stopped", ps(supervisor.Stopping, supervisor.Stopped), true, false},
		{"backoff -> fatal", ps(supervisor.Backoff, supervisor.Fatal), true, false},
		{"starting -> running", ps(supervisor.Starting, supervisor.Running), false, false},
	} {
		if got := stateMatters(c.e); got != c.matters {
			t.Errorf("%s: stateMatters %v, want %v", c.name, got, c.matters)
		}
		if c.matters {
			if got := stateCanWait(c.e); got != c.waits {
				t.Errorf("%s: stateCanWait %v, want %v", c.name, got, c.waits)
			}
		}
	}
}
