package rpc

import (
	"context"
	"testing"
)

// The info structs encode themselves; what a client decodes must be what
// the members hold, escaped text included.
func TestInfoEncodingEscapes(t *testing.T) {
	b := newBigBackend(t, 2)
	b.infos[0].State, b.infos[0].SpawnErr = ProcessFatal, "can't find <cmd> & \"x\"\r\x00"
	b.infos[1].State, b.infos[1].Name = ProcessBackoff, "a&b"
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
	if len(first) != 19 {
		t.Errorf("drover.getAllProcessInfo struct has %d members: %v", len(first), first)
	}
}
