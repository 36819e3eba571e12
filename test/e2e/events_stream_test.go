//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/rpc"
)

// eventFollower is a running `drover events -f --json`: the events it
// printed, snapshot first.
type eventFollower struct {
	t      *testing.T
	what   string
	lines  chan string
	events []rpc.EventJSON // every event printed so far (snapshot included)
}

func followEvents(t *testing.T, what string, args ...string) *eventFollower {
	t.Helper()
	cmd := exec.Command(droverBin, append([]string{"events", "-f", "--json"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f := &eventFollower{t: t, what: what, lines: make(chan string, 1024)}
	go func() {
		defer close(f.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if s := stderr.String(); s != "" {
			t.Logf("%s: drover events stderr: %s", what, s)
		}
	})
	return f
}

// next waits (20 s at most) for the next event.
func (f *eventFollower) next() rpc.EventJSON {
	f.t.Helper()
	select {
	case l, ok := <-f.lines:
		if !ok {
			f.t.Fatalf("%s: drover events ended; got %v", f.what, f.events)
		}
		var e rpc.EventJSON
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			f.t.Fatalf("%s: %q is not an event: %v", f.what, l, err)
		}
		f.events = append(f.events, e)
		return e
	case <-time.After(20 * time.Second):
		f.t.Fatalf("%s: no event within 20 s; got %v", f.what, f.events)
	}
	return rpc.EventJSON{}
}

// waitFor reads events until one matches.
func (f *eventFollower) waitFor(match func(rpc.EventJSON) bool) rpc.EventJSON {
	f.t.Helper()
	for {
		if e := f.next(); match(e) {
			return e
		}
	}
}

// TestE2EEventStream: `drover events -f --json`, started before a scripted
// scenario, shows every state change of it in order, and each step of a
// blue/green reload with both generations' pids (a hand-off, then one to a
// generation that never gets ready), over the unix socket and over the
// inet server alike.
func TestE2EEventStream(t *testing.T) {
	port := freePort(t)
	dir, web := zdServers[len(zdServers)-1].setup(t, "drover", port) // plain-go
	d := startDaemon(t, "drover", config{Bare: true, InetPort: freePort(t), Raw: web + "ready_timeout = 2\n" + fmt.Sprintf(`
[program:sleeper]
command=%s
startsecs=0
autostart=false

[program:crasher]
command=%s
startsecs=0
autostart=false
autorestart=true
`, childCmd("sleep"), childCmd("sleep"))})
	d.waitLog(0, `success: web entered RUNNING`)

	followers := []*eventFollower{
		followEvents(t, "unix", "-c", d.conf),
		followEvents(t, "inet", "-s", fmt.Sprintf("http://127.0.0.1:%d", d.port), "-u", "user", "-p", "secret"),
	}
	// The snapshot (one event per program) is printed once the stream is
	// subscribed.
	var webPid int
	for _, f := range followers {
		for range 3 {
			e := f.next()
			if !e.Snapshot {
				t.Fatalf("%s: %v before the snapshot's end", f.what, e)
			}
			if e.Name == "web" {
				webPid = e.Pid
			}
		}
	}

	must := func(args ...string) {
		t.Helper()
		if r := d.droverCtl(args...); r.Code != 0 {
			t.Fatalf("drover %v: %d %s%s", args, r.Code, r.Stdout, r.Stderr)
		}
	}
	must("start", "sleeper")
	must("stop", "sleeper")
	must("start", "crasher")
	// A crash: autorestart brings it back.
	must("signal", "KILL", "crasher")
	isRunning := func(name string) func(rpc.EventJSON) bool {
		return func(e rpc.EventJSON) bool {
			return e.Name == name && e.Type == "PROCESS_STATE_RUNNING" && e.From == "STARTING"
		}
	}
	for _, f := range followers {
		// RUNNING twice: the start, then the autorestart.
		f.waitFor(isRunning("crasher"))
		f.waitFor(isRunning("crasher"))
	}
	t0 := time.Now()
	must("reload", "web")
	took := time.Since(t0)
	for _, f := range followers {
		f.waitFor(func(e rpc.EventJSON) bool {
			return e.Type == "PROCESS_RELOAD_DONE" || e.Type == "PROCESS_RELOAD_FAILED"
		})
	}
	// A new generation that never gets ready: the reload fails, the old
	// one keeps serving.
	if err := writeFault(dir, "never-ready"); err != nil {
		t.Fatal(err)
	}
	if r := d.droverCtl("reload", "web"); r.Code == 0 {
		t.Fatalf("a reload to a generation never ready succeeded: %s", r.Stdout)
	}
	for _, f := range followers {
		f.waitFor(func(e rpc.EventJSON) bool { return e.Type == "PROCESS_RELOAD_FAILED" })
	}

	want := []string{
		"sleeper STOPPED STARTING", "sleeper STARTING RUNNING", "sleeper RUNNING STOPPING", "sleeper STOPPING STOPPED",
		"crasher STOPPED STARTING", "crasher STARTING RUNNING", "crasher RUNNING EXITED", "crasher EXITED STARTING",
		"crasher STARTING RUNNING",
	}
	wantReload := []string{"STARTED", "SPAWNED", "READY", "RETIRING", "RETIRED", "DONE", "STARTED", "SPAWNED", "FAILED"}
	for _, f := range followers {
		var states, reload []string
		var newPid, oldPid, failedSpawn int
		for _, e := range f.events {
			switch {
			case e.Snapshot:
			case strings.HasPrefix(e.Type, "PROCESS_STATE_"):
				if e.Type != "PROCESS_STATE_"+e.To {
					t.Errorf("%s: type %s with to %s", f.what, e.Type, e.To)
				}
				if e.To == "EXITED" && e.Expected {
					t.Errorf("%s: the KILL was expected: %+v", f.what, e)
				}
				states = append(states, e.Name+" "+e.From+" "+e.To)
			case strings.HasPrefix(e.Type, "PROCESS_RELOAD_"):
				reload = append(reload, e.Phase)
				if e.Phase == "STARTED" {
					// The first reload starts from the first pid, the
					// second from the generation the first one made.
					oldPid = webPid
					if newPid != 0 {
						oldPid = newPid
					}
				}
				if e.Name != "web" || e.Strategy != "bluegreen" || e.OldPid != oldPid {
					t.Errorf("%s: %+v: want web, bluegreen, old pid %d", f.what, e, oldPid)
				}
				switch e.Phase {
				case "SPAWNED":
					if oldPid != webPid {
						failedSpawn = e.NewPid
						break
					}
					newPid = e.NewPid
					if newPid == 0 || newPid == webPid {
						t.Errorf("%s: spawned %+v", f.what, e)
					}
				case "READY", "RETIRING", "RETIRED", "DONE":
					if e.NewPid != newPid {
						t.Errorf("%s: %s names new pid %d, spawned %d", f.what, e.Phase, e.NewPid, newPid)
					}
				case "FAILED":
					want := fmt.Sprintf("the new generation (pid %d) was not ready", failedSpawn)
					if !strings.Contains(e.Error, want) || !strings.Contains(e.Error, fmt.Sprintf("pid %d keeps serving", newPid)) {
						t.Errorf("%s: FAILED says %q, want %q and pid %d keeps serving", f.what, e.Error, want, newPid)
					}
				}
			default:
				t.Errorf("%s: unexpected event %+v", f.what, e)
			}
		}
		if !slices.Equal(states, want) {
			t.Errorf("%s: state changes\n got %q\nwant %q", f.what, states, want)
		}
		if !slices.Equal(reload, wantReload) {
			t.Errorf("%s: reload steps %q, want %q", f.what, reload, wantReload)
		}
	}
	var doneMs float64
	for _, e := range followers[0].events {
		if e.Type == "PROCESS_RELOAD_DONE" {
			doneMs = e.ElapsedMs
		}
	}
	zdReportf(t, "events: %d state changes and %d reload steps (a hand-off, then one that failed) seen in order by both followers; `drover reload` took %v, %.1f ms by its DONE event",
		len(want), len(wantReload), took.Round(time.Millisecond), doneMs)
}
