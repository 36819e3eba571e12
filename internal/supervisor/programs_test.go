package supervisor

import (
	"bytes"
	"context"
	"slices"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/reload"
)

// A generation's Child is released when its own pid is reaped, once; a
// followed successor has none of its own, so its exit releases nothing
// more, and the instance's readiness and stdin no longer reach the old
// master's.
func TestChildReleasedOnceAtItsOwnExit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var stdin bytes.Buffer
		hs := newHarness(t, cfgOf(single("web", startsecs(0), reloadBy(config.ReloadReexec, 0))), func(h *fakeHost) { h.stdin = &stdin })
		hs.sleepUntil(10 * time.Second)
		first := hs.lastPid("web")
		w, err := hs.s.Stdin(bg, "web")
		if err != nil || w != &stdin {
			t.Fatalf("Stdin of a running program: %v, %v", w, err)
		}
		hs.h.setSucc(first, 500)
		hs.exit(first, 0)
		if n := hs.h.releasedOf(first); n != 1 {
			t.Fatalf("first master's child released %d times", n)
		}
		if _, err := hs.s.Stdin(bg, "web"); err == nil {
			t.Fatal("Stdin reaches the old master's pipe after a followed re-exec")
		} else {
			wantCode(t, err, CodeNoFile)
		}
		hs.killed(500, syscall.SIGKILL)
		if n := hs.h.releasedOf(first); n != 1 {
			t.Fatalf("child released %d times after the successor's exit", n)
		}
	})
}

// sendProcessStdin's checks: NOT_RUNNING without a pid or while stopping,
// BAD_NAME, NO_FILE when the child has no stdin.
func TestStdinFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("web", startsecs(0)), single("off", manual)), nil)
		_, err := hs.s.Stdin(bg, "off")
		wantCode(t, err, CodeNotRunning)
		_, err = hs.s.Stdin(bg, "nope")
		wantCode(t, err, CodeBadName)
		_, err = hs.s.Stdin(bg, "web")
		wantCode(t, err, CodeNoFile) // the fake's children have none
		if err := hs.s.StopProcess(bg, "web", false); err != nil {
			t.Fatal(err)
		}
		_, err = hs.s.Stdin(bg, "web")
		wantCode(t, err, CodeNotRunning)
	})
}

// A program's sockets are bound once, at its first spawn; every generation
// holds them while it lives and releases them when gone (also a spawn that
// failed); a hand-off's new generation gets listeners of its own.
func TestListenersHeldByLiveGenerations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("web", startsecs(0), sockets("tcp://127.0.0.1:8080"),
			reloadBy(config.ReloadBlueGreen, 0))), nil)
		hs.wantState("web", Running)
		if len(hs.h.bound) != 1 {
			t.Fatalf("%d binds", len(hs.h.bound))
		}
		s := hs.h.bound[0]
		holds := func() map[*reload.Set]int {
			var out map[*reload.Set]int
			hs.inspect(func(*core) { out = maps(s.holds) })
			return out
		}
		first := hs.lastPid("web")
		if h := holds(); len(h) != 1 || h[s.serving] != 1 {
			t.Fatalf("holds %v", h)
		}
		// A hand-off: the new generation listens beside the serving one.
		done := async(func() error { return hs.s.ReloadProcess(bg, "web") })
		synctest.Wait()
		next := hs.lastPid("web")
		if h := holds(); len(h) != 2 || h[s.serving] != 1 {
			t.Fatalf("during the hand-off: holds %v", h)
		}
		hs.exit(first, 0)
		if err, ok := ready(t, done); !ok || err != nil {
			t.Fatalf("reload: %v %v", err, ok)
		}
		if h := holds(); h[s.pidListeners(first)] != 0 || h[s.pidListeners(next)] != 1 || s.serving != s.pidListeners(next) {
			t.Fatalf("after the hand-off: holds %v", h)
		}
		// A crash releases; the respawn holds the serving listeners again.
		hs.sleepUntil(20 * time.Second)
		hs.killed(next, syscall.SIGKILL)
		if h := holds(); h[s.serving] != 1 {
			t.Fatalf("after the respawn: holds %v", h)
		}
		if len(hs.h.bound) != 1 {
			t.Fatalf("%d binds", len(hs.h.bound))
		}
	})
}

func maps(m map[*reload.Set]int) map[*reload.Set]int {
	out := map[*reload.Set]int{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

// pidListeners is the listeners pid was spawned with.
func (s *fakeSockets) pidListeners(pid int) *reload.Set {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	for _, u := range s.h.listeners {
		if u.pid == pid {
			return u.l
		}
	}
	return nil
}

// A restart's next supervisor takes over the sockets (no new bind) and the
// generation count of the programs it still has; the others' close.
func TestHandoverKeepsSocketsAndGenerations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newFakeHost()
		web := func() *config.Group { return single("web", startsecs(0), sockets("tcp://127.0.0.1:8080")) }
		old := New(cfgOf(web(), single("gone", startsecs(0), sockets("tcp://127.0.0.1:8081"))), h, nil)
		runErr := make(chan error, 1)
		go func() { runErr <- old.Run(context.Background()) }()
		synctest.Wait()
		if len(h.bound) != 2 {
			t.Fatalf("%d binds", len(h.bound))
		}
		go func() {
			for _, sp := range h.spawnList() {
				old.Exited(sp.pid, 0)
			}
		}()
		if err := old.Restart(bg); err != nil {
			t.Fatal(err)
		}
		if err := <-runErr; err != ErrRestart {
			t.Fatal(err)
		}
		next := New(cfgOf(web()), h, nil)
		old.Handover(next)
		webSockets, goneSockets := h.bound[0], h.bound[1]
		if webSockets.name != "web" {
			webSockets, goneSockets = goneSockets, webSockets
		}
		if !goneSockets.closed || webSockets.closed {
			t.Fatalf("closed: gone %v, web %v", goneSockets.closed, webSockets.closed)
		}
		ctx, cancel := context.WithCancel(bg)
		defer cancel()
		go func() { _ = next.Run(ctx) }()
		synctest.Wait()
		if len(h.bound) != 2 {
			t.Fatalf("%d binds: the next supervisor bound again", len(h.bound))
		}
		var webGens []int
		for i, sp := range h.spawnList() {
			if sp.name == "web" {
				webGens = append(webGens, h.gens[i])
			}
		}
		if !slices.Equal(webGens, []int{1, 2}) {
			t.Fatalf("web's generations %v", webGens)
		}
	})
}

// Info reports the log files Host.Logs gave when the group became active
// (AUTO names are the host's), not the config's.
type autoLogHost struct{ *fakeHost }

func (autoLogHost) Logs(p *config.Process) (Logs, error) {
	return Logs{Stdout: "/auto/" + p.Name + "-stdout.log"}, nil
}

func TestInfoShowsHostLogs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(cfgOf(single("web", manual)), autoLogHost{newFakeHost()}, nil)
		ctx, cancel := context.WithCancel(bg)
		defer cancel()
		go func() { _ = s.Run(ctx) }()
		in, err := s.ProcessInfo(bg, "web")
		if err != nil || in.StdoutLogfile != "/auto/web-stdout.log" || in.StderrLogfile != "" {
			t.Fatalf("%+v %v", in, err)
		}
	})
}
