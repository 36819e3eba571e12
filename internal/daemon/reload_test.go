package daemon_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/rpc"
)

// drover.reloadProcess through the whole daemon with the default strategy
// (restart): the reply comes once the new generation runs; a stopped
// program is NOT_RUNNING; drover.getProcessInfo shows the generation.
func TestReloadProcessAPIRestarts(t *testing.T) {
	f := start(t, program("web", "sleep", "startsecs = 0"))
	f.waitLine(`success: web entered RUNNING`)
	before := f.call("drover.getProcessInfo", "web").(map[string]any)
	if v := f.call("drover.reloadProcess", "web"); v != true {
		t.Fatalf("reload: %v", v)
	}
	after := f.call("drover.getProcessInfo", "web").(map[string]any)
	if after["statename"] != "RUNNING" || after["pid"] == before["pid"] ||
		after["generation"].(int) <= before["generation"].(int) || after["reloading"] != "" {
		t.Fatalf("before %v\nafter %v", before, after)
	}
	f.call("supervisor.stopProcess", "web", true)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := f.client.Call(ctx, "drover.reloadProcess", "web")
	var fault *rpc.Fault
	if !errors.As(err, &fault) || fault.String() != "NOT_RUNNING: web" {
		t.Fatalf("reload of a stopped program: %v", err)
	}
}
