package supervisor

import (
	"errors"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

// webCfg is "web" (numprocs n when n > 1) serving blue/green on drover's
// socket with command cmd.
func webCfg(cmd string, n int, opts ...func(*config.Process)) *config.Config {
	base := []func(*config.Process){startsecs(time.Second), reloadBy(config.ReloadBlueGreen, 0),
		readyProbe("http://{probe}/", 10*time.Second), graceful(syscall.SIGQUIT, 5*time.Second),
		sockets("tcp://127.0.0.1:8080"), func(p *config.Process) { p.Command = cmd }}
	base = append(base, opts...)
	if n == 1 {
		return cfgOf(single("web", base...))
	}
	var ps []*config.Process
	for i := range n {
		ps = append(ps, prog("web_"+itoa(i), base...))
	}
	g := grp("web", 999, ps...)
	g.Kind = config.KindProgram
	return cfgOf(g)
}

func (h *fakeHost) cmdList() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.cmds)
}

// An update that changes a blue/green program's command hands it off to a
// generation spawned from the new config: no stop, RUNNING throughout, and
// afterwards the config is the new one (reread sees no change).
func TestUpdateHandsOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ra := &readyAfter{delay: map[int]time.Duration{}, fail: map[int]error{}}
		hs := newHarness(t, webCfg("/bin/web --v1", 1), func(h *fakeHost) { h.ready = ra.wait })
		old := hs.lastPid("web")
		ra.set(old+1, 2*time.Second, nil)
		newCfg := webCfg("/bin/web --v2", 1)
		done := make(chan UpdateResult, 1)
		errc := async(func() error {
			r, err := hs.s.Update(bg, newCfg, nil)
			done <- r
			return err
		})
		synctest.Wait()
		if in := hs.info("web"); in.Pid != old || in.HandoffPid != old+1 || in.State != Running {
			t.Fatalf("during: %+v", in)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		hs.exit(old, 0)
		if err, ok := ready(t, errc); !ok || err != nil {
			t.Fatalf("update: %v %v", err, ok)
		}
		if r := <-done; !slices.Equal(r.Changed, []string{"web"}) || !slices.Equal(r.HandedOff, []string{"web"}) ||
			len(r.Added)+len(r.Removed)+len(r.Failed) != 0 {
			t.Fatalf("result %+v", r)
		}
		if cmds := hs.h.cmdList(); !slices.Equal(cmds, []string{"/bin/web --v1", "/bin/web --v2"}) {
			t.Fatalf("spawned %q", cmds)
		}
		if tr := hs.transitions("web"); !slices.Equal(tr, []string{"STOPPED>STARTING", "STARTING>RUNNING"}) {
			t.Fatalf("transitions %v", tr)
		}
		if d, err := hs.s.Diff(bg, newCfg); err != nil || len(d.Changed) != 0 {
			t.Fatalf("diff after: %+v %v", d, err)
		}
		if in := hs.info("web"); in.Pending != "" || in.Pid != old+1 {
			t.Fatalf("after: %+v", in)
		}
		// A crash now respawns from the new config.
		hs.killed(old+1, syscall.SIGKILL)
		time.Sleep(time.Second)
		synctest.Wait()
		if cmds := hs.h.cmdList(); cmds[len(cmds)-1] != "/bin/web --v2" {
			t.Fatalf("respawned %q", cmds)
		}
	})
}

// A new generation that is not ready is stopped; the old one keeps serving
// with the old config, the update fails saying so, the process says its
// config is pending, and reread still reports the group changed.
func TestUpdateHandOffFailsKeepsOldConfig(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ra := &readyAfter{delay: map[int]time.Duration{}, fail: map[int]error{}}
		hs := newHarness(t, webCfg("/bin/web --v1", 1), func(h *fakeHost) { h.ready = ra.wait })
		old := hs.lastPid("web")
		ra.set(old+1, time.Second, errors.New("connection refused"))
		newCfg := webCfg("/bin/web --broken", 1)
		var r UpdateResult
		errc := async(func() (err error) { r, err = hs.s.Update(bg, newCfg, nil); return err })
		time.Sleep(time.Second)
		synctest.Wait()
		hs.exit(old+1, 1) // the new generation, told to stop
		err, ok := ready(t, errc)
		if !ok || err != nil || len(r.Changed) != 0 || len(r.Failed) != 1 || r.Failed[0].Name != "web" || r.Failed[0].Status != CodeFailed ||
			!strings.Contains(r.Failed[0].Description, "the new config is not applied") ||
			!strings.Contains(r.Failed[0].Description, "connection refused") {
			t.Fatalf("update: %+v %v %v", r, err, ok)
		}
		in := hs.info("web")
		if in.Pid != old || in.State != Running || !strings.Contains(in.Pending, "connection refused") {
			t.Fatalf("after: %+v", in)
		}
		if d, err := hs.s.Diff(bg, newCfg); err != nil || !slices.Equal(d.Changed, []string{"web"}) {
			t.Fatalf("diff after: %+v %v", d, err)
		}
		if tr := hs.transitions("web"); !slices.Equal(tr, []string{"STOPPED>STARTING", "STARTING>RUNNING"}) {
			t.Fatalf("transitions %v", tr)
		}
		// The file put back as it was: nothing to apply, nothing pending.
		if r, err := hs.s.Update(bg, webCfg("/bin/web --v1", 1), nil); err != nil || len(r.Changed) != 0 {
			t.Fatalf("update back: %+v %v", r, err)
		}
		if in := hs.info("web"); in.Pending != "" {
			t.Fatalf("still pending: %+v", in)
		}
		// A crash of the old generation respawns the old config, not the
		// one that failed.
		hs.killed(old, syscall.SIGKILL)
		time.Sleep(time.Second)
		synctest.Wait()
		if cmds := hs.h.cmdList(); cmds[len(cmds)-1] != "/bin/web --v1" {
			t.Fatalf("respawned %q", cmds)
		}
	})
}

// A change a generation cannot carry (here the log file) takes
// supervisord's path: stop, remove, add, start.
func TestUpdateRestartsWhatCannotBeHandedOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, webCfg("/bin/web", 1), nil)
		old := hs.lastPid("web")
		newCfg := webCfg("/bin/web", 1, func(p *config.Process) { p.Stdout.Path = "/var/log/web.log" })
		hs.h.onSignal = func(pid int, sig syscall.Signal) {
			if pid == old {
				go hs.s.Exited(pid, syscall.WaitStatus(sig))
			}
		}
		r, err := hs.s.Update(bg, newCfg, nil)
		if err != nil || !slices.Equal(r.Changed, []string{"web"}) {
			t.Fatalf("update: %+v %v", r, err)
		}
		synctest.Wait()
		if tr := hs.transitions("web"); !slices.Contains(tr, "RUNNING>STOPPING") {
			t.Fatalf("transitions %v", tr)
		}
	})
}

// A numprocs program rolls one process at a time; the first failure stops
// the roll: the processes before it run the new config, the ones after it
// were not touched and say why.
func TestUpdateRollStopsAtFirstFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ra := &readyAfter{delay: map[int]time.Duration{}, fail: map[int]error{}}
		hs := newHarness(t, webCfg("/bin/web --v1", 4), func(h *fakeHost) { h.ready = ra.wait })
		hs.wantState("web:web_3", Running)
		first := 0 // the first new generation's pid: after every first spawn's
		for _, sp := range hs.h.spawnList() {
			first = max(first, sp.pid+1)
		}
		// web_0 and web_1 hand off; web_2's new generation fails.
		hs.h.onSignal = func(pid int, sig syscall.Signal) {
			if sig == syscall.SIGQUIT || sig == syscall.SIGTERM {
				go hs.s.Exited(pid, syscall.WaitStatus(0))
			}
		}
		ra.set(first+2, 0, errors.New("boom"))
		var r UpdateResult
		errc := async(func() (err error) { r, err = hs.s.Update(bg, webCfg("/bin/web --v2", 4), nil); return err })
		err, ok := ready(t, errc)
		if !ok || err != nil || len(r.Failed) != 1 || !strings.Contains(r.Failed[0].Description, "boom") {
			t.Fatalf("update: %+v %v %v", r, err, ok)
		}
		if cmds := hs.h.cmdList(); len(cmds) != 7 || cmds[6] != "/bin/web --v2" {
			t.Fatalf("spawned %q: want 4 + 3 new generations (web_3 untouched)", cmds)
		}
		for i, want := range []string{"", "", "boom", "not handed off"} {
			in := hs.info("web:web_" + itoa(i))
			if in.State != Running || (want == "") != (in.Pending == "") || !strings.Contains(in.Pending, want) {
				t.Fatalf("web_%d: %+v", i, in)
			}
		}
	})
}
