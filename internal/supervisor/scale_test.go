package supervisor

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

// webGroup is [program:web] with numprocs=n: web_0..web_<n-1>, each on its
// own socket, ready when its probe answers.
func webGroup(n int, opts ...func(*config.Process)) *config.Group {
	g := &config.Group{Name: "web", Priority: 999, Kind: config.KindProgram}
	for i := range n {
		p := prog(fmt.Sprintf("web_%d", i), append([]func(*config.Process){
			sockets(fmt.Sprintf("tcp://127.0.0.1:%d", 8000+i)),
			readyProbe("tcp://127.0.0.1:9", time.Second),
		}, opts...)...)
		p.Program, p.Group, p.ProcessNum = "web", "web", i
		g.Processes = append(g.Processes, p)
	}
	return g
}

// readyGate holds each named process's readiness until released.
type readyGate struct {
	mu    sync.Mutex
	gates map[string]chan struct{}
}

func (r *readyGate) hold(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gates == nil {
		r.gates = map[string]chan struct{}{}
	}
	r.gates[name] = make(chan struct{})
}

func (r *readyGate) release(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	close(r.gates[name])
}

func (r *readyGate) wait(ctx context.Context, p *config.Process, _ int) error {
	r.mu.Lock()
	g := r.gates[p.Name]
	r.mu.Unlock()
	if g == nil {
		return nil
	}
	select {
	case <-g:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type scaleOut struct {
	rs  []Result
	err error
}

func asyncScale(hs *harness, ng *config.Group) <-chan scaleOut {
	ch := make(chan scaleOut, 1)
	go func() {
		rs, err := hs.s.Scale(bg, ng, "web")
		ch <- scaleOut{rs, err}
	}()
	synctest.Wait()
	return ch
}

func resultLines(rs []Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%s:%s %d %s", r.Group, r.Name, r.Status, r.Description))
	}
	return out
}

// Scaling up starts the new processes through the readiness gate (the
// reply waits for it) without touching the running ones; scaling down
// stops the extra ones one at a time, highest process_num first, removes
// them and closes their sockets.
func TestScaleUpThenDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := &readyGate{}
		hs := newHarness(t, cfgOf(webGroup(2)), func(h *fakeHost) { h.ready = gate.wait })
		hs.sleepUntil(time.Second)
		hs.wantState("web:web_0", Running)
		p0, p1 := hs.lastPid("web_0"), hs.lastPid("web_1")

		gate.hold("web_3")
		got := asyncScale(hs, webGroup(4))
		hs.wantState("web:web_2", Running)
		hs.wantState("web:web_3", Starting)
		select {
		case o := <-got:
			t.Fatalf("scale replied before web_3 was ready: %+v", o)
		default:
		}
		gate.release("web_3")
		synctest.Wait()
		o := <-got
		if o.err != nil || !slices.Equal(resultLines(o.rs), []string{"web:web_2 80 OK", "web:web_3 80 OK"}) {
			t.Fatalf("scale to 4: %q %v", resultLines(o.rs), o.err)
		}
		hs.wantState("web:web_3", Running)
		if hs.lastPid("web_0") != p0 || hs.lastPid("web_1") != p1 || len(hs.stops()) != 0 {
			t.Fatalf("scaling up touched the running processes: %v", hs.stops())
		}
		all, _ := hs.s.AllProcessInfo(bg)
		if len(all) != 4 {
			t.Fatalf("%d processes after scaling to 4", len(all))
		}

		// Down to 2: web_3 first; web_2 only once web_3 is gone.
		p2, p3 := hs.lastPid("web_2"), hs.lastPid("web_3")
		got = asyncScale(hs, webGroup(2))
		if s := hs.h.signalList(); len(s) != 1 || s[0].pid != p3 || s[0].sig != syscall.SIGTERM {
			t.Fatalf("first stop: %+v, want SIGTERM to web_3 (%d)", s, p3)
		}
		hs.killed(p3, syscall.SIGTERM)
		if s := hs.h.signalList(); len(s) != 2 || s[1].pid != p2 {
			t.Fatalf("second stop: %+v, want web_2 (%d)", s, p2)
		}
		select {
		case o := <-got:
			t.Fatalf("scale replied before web_2 stopped: %+v", o)
		default:
		}
		hs.killed(p2, syscall.SIGTERM)
		o = <-got
		if o.err != nil || !slices.Equal(resultLines(o.rs), []string{"web:web_3 80 removed", "web:web_2 80 removed"}) {
			t.Fatalf("scale to 2: %q %v", resultLines(o.rs), o.err)
		}
		if _, err := hs.s.ProcessInfo(bg, "web:web_2"); err == nil {
			t.Fatal("web_2 still there")
		}
		for _, s := range hs.h.bound {
			if closed := s.name == "web_2" || s.name == "web_3"; s.closed != closed {
				t.Errorf("sockets of %s: closed %v", s.name, s.closed)
			}
		}
		if hs.lastPid("web_0") != p0 || hs.lastPid("web_1") != p1 {
			t.Fatal("scaling down touched the staying processes")
		}
		groups, _ := hs.s.Groups(bg)
		if len(groups) != 1 || len(groups[0].Processes) != 2 {
			t.Fatalf("group config after scaling: %+v", groups)
		}
	})
}

// A config whose group differs in more than the count is refused, and
// nothing changes.
func TestScaleRefusesOtherChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(webGroup(2)), nil)
		hs.sleepUntil(time.Second)
		ng := webGroup(3)
		ng.Processes[0].Command = "/bin/web --new"
		_, err := hs.s.Scale(bg, ng, "web")
		wantCode(t, err, CodeFailed)
		if n := len(hs.h.spawnList()); n != 2 {
			t.Fatalf("%d spawns, want 2", n)
		}
		one := single("solo")
		_, err = hs.s.Scale(bg, one, "solo")
		if err == nil {
			t.Fatal("scaled a group that is not active with that config")
		}
	})
}

// The next update with the file's numprocs scales a scaled group back
// (the file wins) without restarting the processes that stay.
func TestUpdateScalesBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(webGroup(2)), nil)
		hs.sleepUntil(time.Second)
		if _, err := hs.s.Scale(bg, webGroup(3), "web"); err != nil {
			t.Fatal(err)
		}
		p0, p2 := hs.lastPid("web_0"), hs.lastPid("web_2")
		got := make(chan UpdateResult, 1)
		go func() {
			r, err := hs.s.Update(bg, cfgOf(webGroup(2)), nil)
			if err != nil {
				t.Error(err)
			}
			got <- r
		}()
		synctest.Wait()
		if s := hs.h.signalList(); len(s) != 1 || s[0].pid != p2 {
			t.Fatalf("update stopped %+v, want only web_2", s)
		}
		hs.killed(p2, syscall.SIGTERM)
		r := <-got
		if !slices.Equal(r.Changed, []string{"web"}) || !slices.Equal(r.Scaled, []string{"web"}) {
			t.Fatalf("update: %+v", r)
		}
		if hs.lastPid("web_0") != p0 {
			t.Fatal("update restarted web_0")
		}
		all, _ := hs.s.AllProcessInfo(bg)
		if len(all) != 2 {
			t.Fatalf("%d processes after update", len(all))
		}
		// Not scaled any more: an update with another count is an
		// ordinary change (the group is replaced, as supervisord does).
		go func() {
			r, _ := hs.s.Update(bg, cfgOf(webGroup(3)), nil)
			got <- r
		}()
		synctest.Wait()
		if s := hs.h.signalList(); len(s) != 3 {
			t.Fatalf("update of an unscaled group: signals %+v, want web_0 and web_1 stopped", s)
		}
		hs.killed(hs.lastPid("web_0"), syscall.SIGTERM)
		hs.killed(hs.lastPid("web_1"), syscall.SIGTERM)
		<-got
	})
}

// In a [group:x] with two programs, scaling one leaves the other alone,
// and a change to the other refuses the scale.
func TestScaleInHeterogeneousGroup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mixed := func(n int, dbCmd string) *config.Group {
			g := webGroup(n)
			g.Name, g.Kind = "g", config.KindGroup
			for _, p := range g.Processes {
				p.Group = "g"
			}
			db := prog("db", func(p *config.Process) { p.Command, p.Group = dbCmd, "g" })
			g.Processes = append(g.Processes, db)
			return g
		}
		hs := newHarness(t, cfgOf(mixed(1, "/bin/db")), nil)
		hs.sleepUntil(time.Second)
		dbPid := hs.lastPid("db")
		_, err := hs.s.Scale(bg, mixed(2, "/bin/db --new"), "web")
		wantCode(t, err, CodeFailed)
		rs, err := hs.s.Scale(bg, mixed(2, "/bin/db"), "web")
		if err != nil || !slices.Equal(resultLines(rs), []string{"g:web_1 80 OK"}) {
			t.Fatalf("scale web in g: %q %v", resultLines(rs), err)
		}
		hs.wantState("g:web_1", Running)
		if hs.lastPid("db") != dbPid || len(hs.stops()) != 0 {
			t.Fatal("scaling web touched db")
		}
	})
}
