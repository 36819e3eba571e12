package rpc

import (
	"github.com/drover-sh/drover/internal/supervisor"

	"context"
	"testing"

	"github.com/drover-sh/drover/internal/rpc/xmlrpc"
)

// The info structs encode themselves; what a client decodes must be what
// the members hold, escaped text included.
func TestInfoEncodingEscapes(t *testing.T) {
	b := newBigBackend(t, 2)
	b.infos[0].State, b.infos[0].SpawnErr = supervisor.Fatal, "can't find <cmd> & \"x\"\r\x00"
	b.infos[1].State, b.infos[1].Name = supervisor.Backoff, "a&b"
	b.infos[1].HandoffPID, b.infos[1].Generation, b.infos[1].Reloading = 77, 3, "reexec"
	s, err := New(Options{Backend: b})
	if err != nil {
		t.Fatal(err)
	}
	all := norm(t, must(s.Call(context.Background(), "drover.getAllProcessInfo"))).([]any)
	first, second := all[0].(map[string]any), all[1].(map[string]any)
	if want := "can't find <cmd> & \"x\"\r\u2400"; first["spawnerr"] != want || first["description"] != want {
		t.Errorf("spawnerr %q description %q, want %q", first["spawnerr"], first["description"], want)
	}
	if second["description"] != `unknown error (try "tail a&b")` || second["handoff_pid"] != 77 ||
		second["generation"] != 3 || second["reloading"] != "reexec" {
		t.Errorf("second = %v", second)
	}
	if len(first) != 22 { // with waiting (depends_on)
		t.Errorf("drover.getAllProcessInfo struct has %d members: %v", len(first), first)
	}
}

// FuzzInfoEncoding: whatever a process's strings hold, its info struct
// and status row decode to the sanitized strings (see xmlrpc.Sanitize).
func FuzzInfoEncoding(f *testing.F) {
	f.Add("web", "web", "can't <spawn> & \x1b[0m\r\n", "bluegreen", 3)
	f.Fuzz(func(t *testing.T, name, group, spawnErr, reloading string, handoff int) {
		pi := ProcessInfo{Name: name, Group: group, State: supervisor.Fatal, SpawnErr: spawnErr, Reloading: reloading,
			HandoffPID: handoff, StdoutLogfile: spawnErr}
		s, err := New(Options{Backend: bigBackend{&fakeBackend{state: supervisor.StateRunning}, []ProcessInfo{pi}}})
		if err != nil {
			t.Fatal(err)
		}
		info := norm(t, must(s.Call(context.Background(), "drover.getAllProcessInfo"))).([]any)[0].(map[string]any)
		// What a client reads of a plain string value (the codec's own
		// tests check that against the XML rules).
		clean := func(s string) string { return norm(t, s).(string) }
		if info["name"] != clean(name) || info["group"] != clean(group) || info["spawnerr"] != clean(spawnErr) ||
			info["reloading"] != clean(reloading) || info["logfile"] != clean(spawnErr) || info["handoff_pid"] != int(clampPID(handoff)) {
			t.Fatalf("%q %q %q %q %d decoded as %v", name, group, spawnErr, reloading, handoff, info)
		}
		want := clean(spawnErr)
		if spawnErr == "" {
			want = `unknown error (try "tail ` + clean(name) + `")`
		}
		row := norm(t, must(s.Call(context.Background(), "drover.getAllProcessStatus"))).([]any)[0].([]any)
		if info["description"] != want || row[4] != want || row[0] != clean(group) || row[1] != clean(name) {
			t.Fatalf("description %q, status row %v, want %q", info["description"], row, want)
		}
	})
}

// clampPID is what an XML-RPC int carries of n.
func clampPID(n int) int64 { return min(max(int64(n), xmlrpc.MinInt), xmlrpc.MaxInt) }
