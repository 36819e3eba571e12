package daemon

import (
	"bytes"
	"encoding/json"
	"fmt"
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

// TestStateEncoderMatchesMarshal: the state file's encoder, which reuses
// unchanged records' encodings, writes what json.Marshal does, write
// after write as records change, appear and go.
func TestStateEncoderMatchesMarshal(t *testing.T) {
	rec := func(name string, pid int, st supervisor.State) crashProc {
		return crashProc{ProcRecord: supervisor.ProcRecord{Group: name, Name: name, State: st, Pid: pid,
			LastStart: time.Unix(1700000000, int64(pid)), Logs: supervisor.Logs{Stdout: "/tmp/" + name + ".log"}},
			StartTicks: uint64(pid) * 7, KeeperPid: pid}
	}
	steps := [][]crashProc{
		nil,
		{rec("a", 10, supervisor.Running), rec("b", 0, supervisor.Stopped)},
		{rec("a", 10, supervisor.Running), rec("b", 11, supervisor.Running)},
		{rec("a", 12, supervisor.Running), rec("b", 11, supervisor.Running), rec("c", 0, supervisor.Fatal)},
		{rec("c", 0, supervisor.Fatal), rec("b", 11, supervisor.Running)},
	}
	var enc stateEncoder
	for i, procs := range steps {
		st := crashState{Version: stateVersion, DaemonPid: 99, DaemonStart: 1234, Procs: procs}
		got, err := enc.encode(st)
		if err != nil {
			t.Fatal(err)
		}
		if st.Procs == nil {
			st.Procs = []crashProc{} // the encoder writes [] where Marshal writes null
		}
		want, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("step %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// BenchmarkStateEncode500: one state file write's encoding with 500
// records of which 10 changed since the last (programs starting).
func BenchmarkStateEncode500(b *testing.B) {
	procs := make([]crashProc, 500)
	for i := range procs {
		name := fmt.Sprintf("p%04d", i)
		procs[i] = crashProc{ProcRecord: supervisor.ProcRecord{Group: name, Name: name, State: supervisor.Running, Pid: 1000 + i,
			LastStart: time.Now(), Logs: supervisor.Logs{Stdout: "/var/log/drover/" + name + "-stdout---supervisor-abcdefgh.log"}},
			StartTicks: uint64(i), KeeperPid: 1000 + i}
	}
	var enc stateEncoder
	st := crashState{Version: stateVersion, DaemonPid: 1, DaemonStart: 2, Procs: procs}
	if _, err := enc.encode(st); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		for j := range 10 {
			procs[(i*10+j)%500].Pid++
		}
		if _, err := enc.encode(st); err != nil {
			b.Fatal(err)
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
