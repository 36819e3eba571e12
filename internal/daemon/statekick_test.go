package daemon

import (
	"testing"
	"testing/synctest"
	"time"

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

// TestCoalesceSchedule: the state writer's schedule, in fake time. A kick
// writes at once, or gap after the last write; kicks meanwhile make one
// more write; a soon writes gap later unless a kick comes first.
func TestCoalesceSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const gap = 20 * time.Millisecond
		kick, soon, stop := make(chan struct{}, 1), make(chan struct{}, 1), make(chan struct{})
		start := time.Now()
		var writes []time.Duration
		done := make(chan struct{})
		go func() {
			defer close(done)
			coalesce(kick, soon, stop, gap, func() { writes = append(writes, time.Since(start)) })
		}()
		at := func(d time.Duration, ch chan struct{}) {
			time.Sleep(time.Until(start.Add(d))) // fake time: exact
			ch <- struct{}{}
			synctest.Wait()
		}
		at(0, kick)                    // write at 0
		at(5*time.Millisecond, kick)   // within the gap: write at 20
		at(25*time.Millisecond, kick)  // write at 40 ...
		at(30*time.Millisecond, kick)  // ... folded into it
		at(100*time.Millisecond, soon) // write at 120
		at(200*time.Millisecond, soon) // would be 220 ...
		at(205*time.Millisecond, kick) // ... a kick writes at once
		at(300*time.Millisecond, soon) // write at 320 ...
		at(310*time.Millisecond, soon) // ... not moved later
		time.Sleep(time.Until(start.Add(400 * time.Millisecond)))
		close(stop)
		<-done
		want := []time.Duration{0, 20, 40, 120, 205, 320}
		if len(writes) != len(want) {
			t.Fatalf("writes at %v, want %v ms", writes, want)
		}
		for i, w := range want {
			if writes[i] != w*time.Millisecond {
				t.Fatalf("writes at %v, want %v ms", writes, want)
			}
		}
	})
}
