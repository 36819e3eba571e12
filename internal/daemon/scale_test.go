package daemon_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/supervisor"
)

// drover.scale through the daemon: the config file read again with the
// new count; the refusals name their cause.
func TestScaleThroughTheAPI(t *testing.T) {
	f := start(t, "[program:w]\ncommand = /bin/sleep 600\nprocess_name = w_%(process_num)d\nnumprocs = 1\nstartsecs = 0\n\n"+
		"[program:solo]\ncommand = /bin/sleep 600\nstartsecs = 0\n\n")
	f.waitLine(`success: w_0 entered RUNNING`)
	rs := f.call("drover.scale", "w", 3).([]any)
	if len(rs) != 2 || rs[0].(map[string]any)["name"] != "w_1" || rs[1].(map[string]any)["name"] != "w_2" {
		t.Fatalf("scale w 3: %v", rs)
	}
	if in := f.info("w:w_2"); in["statename"] != "RUNNING" {
		t.Fatalf("w_2: %v", in)
	}
	rs = f.call("drover.scale", "w:w", 1).([]any)
	if len(rs) != 2 || rs[0].(map[string]any)["name"] != "w_2" || rs[0].(map[string]any)["description"] != "removed" {
		t.Fatalf("scale w:w 1: %v", rs)
	}
	fault := func(name string, n int) string {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := f.client.Call(ctx, "drover.scale", name, n)
		var fl *supervisor.Fault
		if !errors.As(err, &fl) {
			t.Fatalf("scale %s %d: %v", name, n, err)
		}
		return fl.Error()
	}
	if got := fault("solo", 2); !strings.HasPrefix(got, "CANT_REREAD: ") || !strings.Contains(got, "process_name") {
		t.Errorf("solo (no %%(process_num)): %s", got)
	}
	if got := fault("w", 0); !strings.HasPrefix(got, "BAD_ARGUMENTS: ") {
		t.Errorf("w 0: %s", got)
	}
	if got := fault("nope", 2); got != "BAD_NAME: nope" {
		t.Errorf("nope: %s", got)
	}
}
