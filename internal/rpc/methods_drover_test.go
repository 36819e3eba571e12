package rpc

import (
	"github.com/drover-sh/drover/internal/supervisor"

	"context"
	"reflect"
	"testing"
)

func TestDroverReload(t *testing.T) {
	s, f := newTestServer(t)
	ok := func(name, group string) any {
		return map[string]any{"name": name, "group": group, "status": 80, "description": "OK"}
	}
	wantValue(t, s, true, "drover.reloadProcess", "cat")
	wantFault(t, s, supervisor.CodeNotRunning, "NOT_RUNNING: g:a", "drover.reloadProcess", "g:a")
	wantFault(t, s, supervisor.CodeBadName, "BAD_NAME: nope", "drover.reloadProcess", "nope")
	wantFault(t, s, supervisor.CodeBadName, "BAD_NAME: zz:*", "drover.reloadProcess", "zz:*")
	wantFault(t, s, supervisor.CodeIncorrectParameters, "INCORRECT_PARAMETERS: 1", "drover.reloadProcess", 1)
	// "g:*" rolls the group: only running processes are reloaded.
	wantValue(t, s, []any{ok("b", "g")}, "drover.reloadProcess", "g:*")
	wantValue(t, s, []any{ok("b", "g")}, "drover.reloadProcessGroup", "g")
	wantFault(t, s, supervisor.CodeBadName, "BAD_NAME: zz", "drover.reloadProcessGroup", "zz")
	wantValue(t, s, []any{ok("cat", "cat"), ok("b", "g")}, "drover.reloadAllProcesses")
	if len(f.calls) != 5 || f.batch != 1 {
		t.Fatalf("calls %v, batch %d", f.calls, f.batch)
	}
	wantValue(t, s, []any{ok("b", "g")}, "drover.reloadProcessGroup", "g", 3)
	if f.batch != 3 {
		t.Fatalf("batch %d", f.batch)
	}
	wantFault(t, s, supervisor.CodeIncorrectParameters, "INCORRECT_PARAMETERS: 0", "drover.reloadProcessGroup", "g", 0)
	wantFault(t, s, supervisor.CodeIncorrectParameters, "INCORRECT_PARAMETERS: x", "drover.reloadAllProcesses", "x")
	// drover.* answers SHUTDOWN_STATE during a shutdown, like supervisor.*.
	f.mu.Lock()
	f.state = supervisor.StateShutdown
	f.mu.Unlock()
	wantFault(t, s, supervisor.CodeShutdownState, "SHUTDOWN_STATE", "drover.reloadProcess", "cat")
}

func TestDroverProcessInfo(t *testing.T) {
	s, _ := newTestServer(t)
	wantValue(t, s, true, "drover.reloadProcess", "cat")
	v := norm(t, must(s.Call(context.Background(), "drover.getProcessInfo", "cat"))).(map[string]any)
	if v["pid"] != 1100 || v["prev_pid"] != 100 || v["generation"] != 1 || v["reexecs"] != 1 ||
		v["handoff_pid"] != 0 || v["reloading"] != "" || v["statename"] != "RUNNING" {
		t.Fatalf("%v", v)
	}
	// supervisor.getProcessInfo keeps supervisord's keys only.
	plain := norm(t, must(s.Call(context.Background(), "supervisor.getProcessInfo", "cat"))).(map[string]any)
	if _, has := plain["generation"]; has || len(plain) != 14 {
		t.Fatalf("getProcessInfo has %d keys: %v", len(plain), plain)
	}
	all := norm(t, must(s.Call(context.Background(), "drover.getAllProcessInfo"))).([]any)
	if len(all) != 3 || all[0].(map[string]any)["name"] != "cat" || all[0].(map[string]any)["generation"] != 1 {
		t.Fatalf("%v", all)
	}
	wantFault(t, s, supervisor.CodeBadName, "BAD_NAME: g:*", "drover.getProcessInfo", "g:*")
}

func TestDroverProcessStatus(t *testing.T) {
	s, f := newTestServer(t)
	f.mu.Lock()
	f.procs["g:b"].HandoffPID, f.procs["g:b"].Generation = 103, 4
	f.mu.Unlock()
	got := norm(t, must(s.Call(context.Background(), "drover.getAllProcessStatus")))
	want := []any{
		[]any{"cat", "cat", 20, "RUNNING", "pid 100, uptime 1 day, 1:01:01", 0, 0},
		[]any{"g", "a", 0, "STOPPED", "Not started", 0, 0},
		[]any{"g", "b", 20, "RUNNING", "pid 102, uptime 1 day, 1:01:01", 4, 103},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("drover.getAllProcessStatus = %#v", got)
	}
	// The same processes, order and descriptions as getAllProcessInfo.
	all := norm(t, must(s.Call(context.Background(), "supervisor.getAllProcessInfo"))).([]any)
	for i, v := range all {
		m := v.(map[string]any)
		row := got.([]any)[i].([]any)
		if row[0] != m["group"] || row[1] != m["name"] || row[2] != m["state"] || row[3] != m["statename"] || row[4] != m["description"] {
			t.Errorf("row %d %v, getAllProcessInfo %v", i, row, m)
		}
	}
}

func TestDroverUpdate(t *testing.T) {
	s, _ := newTestServer(t)
	want := map[string]any{"added": []any{}, "changed": []any{"web"}, "removed": []any{}, "handed_off": []any{"web"},
		"failed": []any{map[string]any{"name": "api", "group": "api", "status": 30, "description": "not ready"}}}
	wantValue(t, s, want, "drover.update")
	wantValue(t, s, want, "drover.update", []any{"web", "api"})
	wantFault(t, s, supervisor.CodeIncorrectParameters, "INCORRECT_PARAMETERS: web", "drover.update", "web")
	wantFault(t, s, supervisor.CodeIncorrectParameters, "INCORRECT_PARAMETERS: 1", "drover.update", []any{1})
}

// A process held by depends_on says so in its description (STOPPED, never
// started) and in drover.getProcessInfo's waiting.
func TestDescriptionWaiting(t *testing.T) {
	s, f := newTestServer(t)
	f.mu.Lock()
	f.procs["g:a"].Waiting = "waiting for db:ready (db is FATAL)"
	f.mu.Unlock()
	in := norm(t, must(s.Call(context.Background(), "drover.getProcessInfo", "g:a"))).(map[string]any)
	if in["description"] != "Not started, waiting for db:ready (db is FATAL)" || in["waiting"] != "waiting for db:ready (db is FATAL)" {
		t.Fatalf("%v", in)
	}
	plain := norm(t, must(s.Call(context.Background(), "supervisor.getProcessInfo", "g:a"))).(map[string]any)
	if _, has := plain["waiting"]; has || plain["description"] != "Not started, waiting for db:ready (db is FATAL)" {
		t.Fatalf("%v", plain)
	}
}
