package daemon_test

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
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

// reload = reexec from the config file, through the API: drover.reloadProcess
// answers once the re-exec'd master is adopted, and supervisorctl's
// signalProcess USR2 is followed too; the program stays RUNNING under one
// spawn.
func TestReloadReexecThroughTheAPI(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "master.pid")
	f := start(t, program("web", "unicorn:"+pidfile, "startsecs = 0", "reload = reexec", "reload_signal = USR2",
		"pidfile = "+pidfile))
	f.waitLine(`success: web entered RUNNING`)
	first := f.info("web")["pid"].(int)
	waitFile(t, pidfile, strconv.Itoa(first))
	if v := f.call("drover.reloadProcess", "web"); v != true {
		t.Fatalf("reload: %v", v)
	}
	f.waitLine(`following re-exec of 'web': pid ` + strconv.Itoa(first) + ` → \d+`)
	in := f.call("drover.getProcessInfo", "web").(map[string]any)
	second := in["pid"].(int)
	if second == first || in["statename"] != "RUNNING" || in["reexecs"] != 1 || in["prev_pid"] != first {
		t.Fatalf("after the reload: %v", in)
	}
	waitFile(t, pidfile, strconv.Itoa(second))
	mark := f.mark()
	f.call("supervisor.signalProcess", "web", "USR2")
	f.waitLineAfter(mark, `following re-exec of 'web': pid `+strconv.Itoa(second)+` → \d+`)
	if in := f.info("web"); in["statename"] != "RUNNING" || in["pid"] == second {
		t.Fatalf("after signal USR2: %v", in)
	}
	if n := f.count(`spawned: 'web'`); n != 1 {
		t.Fatalf("%d spawns", n)
	}
}
