package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	stdmaps "maps"
	"slices"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/reload"
)

// fakeHost records spawns and signals; tests deliver exits themselves.
type fakeHost struct {
	mu      sync.Mutex
	nextPid int
	spawns  []spawnCall
	signals []sigCall
	// spawnErr makes Spawn of that program fail; with errPid it also
	// returns a pid (a shim that failed before exec).
	spawnErr map[string]error
	errPid   bool
	// gate, when set for a name, blocks Spawn until it is closed.
	gate map[string]chan struct{}
	// sigErr is returned by Signal for that pid.
	sigErr map[int]error

	// succ is the live re-exec'd successor of a process group (Successor),
	// answered once;
	// lookups records each call; succGate, when set, blocks Successor
	// until it is closed.
	succ     map[int]int
	lookups  []lookupCall
	succGate chan struct{}
	// ready, when set, is each child's WaitReady; nil answers ready at once.
	ready func(ctx context.Context, p *config.Process, pid int) error
	// health, when set, is each child's CheckHealth (health_test.go).
	health func(ctx context.Context, p *config.Process, pid int) error
	// onSignal, when set, is called after each Signal (on the owner
	// goroutine: it must not block).
	onSignal func(pid int, sig syscall.Signal)
	// prepared records RearmReady calls: the pid and how many signals had
	// been sent then.
	prepared [][2]int
	// steer, when set, makes the host a steering one (bluegreen_steer_test.go).
	steer *fakeSteer
	// drain, when set, is DrainPool; nil drains at once.
	drain func(name string, done func())
	// listeners records which listeners each spawned pid got.
	listeners []listenerUse
	// released counts Child.Exited calls by pid; stdin, when set, is every
	// child's stdin.
	released map[int]int
	stdin    io.Writer
	// bound are the Sockets Bind made, in order; gens the Generation of
	// each spawn request.
	bound []*fakeSockets
	gens  []int
	// cmds is each successful spawn's command=, in order.
	cmds []string

	// children are each pid's children (Children); newChild is the child
	// NewChild reports for a parent (none: it reports none at once);
	// watches are the live WatchExit callbacks by pid; killTree records
	// KillTree calls.
	children map[int][]int
	newChild map[int]int
	newBound []time.Duration
	watches  map[int]func(syscall.WaitStatus)
	killTree []int
	// refusals records Sockets.Refuse and the Reopen after it, in order
	// ("refuse web", "reopen web").
	refusals []string

	// records, when set, are given to Supervisor.Adopt before Run;
	// adopted lists the Adopt calls, adoptErr fails them by name.
	records  []ProcRecord
	adopted  []AdoptRequest
	adoptErr map[string]error
}

func (h *fakeHost) Adopt(req AdoptRequest) (Child, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.adopted = append(h.adopted, req)
	if err := h.adoptErr[req.Name]; err != nil {
		return nil, err
	}
	return &fakeChild{h: h, p: req.Process, pid: req.Pid}, nil
}

func (h *fakeHost) Children(pid int) []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.children[pid])
}

func (h *fakeHost) NewChild(parent int, before []int, hint string, bound time.Duration) (int, bool) {
	h.mu.Lock()
	pid, ok := h.newChild[parent]
	h.newBound = append(h.newBound, bound)
	h.mu.Unlock()
	return pid, ok
}

func (h *fakeHost) WatchExit(pid int, exited func(syscall.WaitStatus)) (func(), error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.watches == nil {
		h.watches = map[int]func(syscall.WaitStatus){}
	}
	h.watches[pid] = exited
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.watches, pid)
	}, nil
}

// watched lists the pids with a live exit watch.
func (h *fakeHost) watched() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Sorted(stdmaps.Keys(h.watches))
}

// watchedExit reports pid's exit to its watch, as the pidfd goroutine
// does; false when nobody watches it.
func (h *fakeHost) watchedExit(pid int, ws syscall.WaitStatus) bool {
	h.mu.Lock()
	f := h.watches[pid]
	delete(h.watches, pid)
	h.mu.Unlock()
	if f == nil {
		return false
	}
	go f(ws)
	synctest.Wait()
	return true
}

func (h *fakeHost) KillTree(pid int) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.killTree = append(h.killTree, pid)
	return nil
}

func (h *fakeHost) releasedOf(pid int) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.released[pid]
}

type listenerUse struct {
	l   *reload.Set
	pid int
}

func (h *fakeHost) DrainPool(name string, done func()) {
	if h.drain != nil {
		h.drain(name, done)
		return
	}
	go done()
}

func (h *fakeHost) Resolve(*config.Process) error { return nil }
func (h *fakeHost) SpawnConcurrency() int         { return 0 }

func (h *fakeHost) Logs(p *config.Process) (Logs, error) {
	return Logs{Stdout: p.Stdout.Path, Stderr: p.Stderr.Path}, nil
}

// Bind gives a program with sockets= fake listeners; with h.steer set they
// steer (bluegreen_steer_test.go).
func (h *fakeHost) Bind(p *config.Process) (Sockets, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := &fakeSockets{h: h, name: p.Name, pids: map[*reload.Set]int{}}
	h.bound = append(h.bound, s)
	return s, nil
}

// fakeChild is what fakeHost.Spawn returns: WaitReady is h.ready,
// RearmReady records into h.prepared.
type fakeChild struct {
	h   *fakeHost
	p   *config.Process
	pid int
}

func (c *fakeChild) Pid() int { return c.pid }
func (c *fakeChild) Stdin() io.Writer {
	if w := c.h.stdin; w != nil {
		return w
	}
	return nil
}

// Exited counts, per pid, how often the child's resources were released.
func (c *fakeChild) Exited() {
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	if c.h.released == nil {
		c.h.released = map[int]int{}
	}
	c.h.released[c.pid]++
}
func (c *fakeChild) RearmReady() { c.h.rearmed(c.pid) }
func (c *fakeChild) WaitReady(ctx context.Context) error {
	c.h.mu.Lock()
	f := c.h.ready
	c.h.mu.Unlock()
	if f == nil {
		return nil
	}
	return f(ctx, c.p, c.pid)
}

func (h *fakeHost) rearmed(pid int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.prepared = append(h.prepared, [2]int{pid, len(h.signals)})
}

type lookupCall struct {
	pgid int
	hint string
}

type spawnCall struct {
	name string
	pid  int
	at   time.Time
}

type sigCall struct {
	pid   int
	sig   syscall.Signal
	group bool
	at    time.Time
}

func newFakeHost() *fakeHost {
	return &fakeHost{nextPid: 100, spawnErr: map[string]error{}, gate: map[string]chan struct{}{}, sigErr: map[int]error{},
		succ: map[int]int{}, children: map[int][]int{}, newChild: map[int]int{}}
}

func (h *fakeHost) Successor(pgid int, hint string) (int, bool) {
	h.mu.Lock()
	g := h.succGate
	h.mu.Unlock()
	if g != nil {
		<-g
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lookups = append(h.lookups, lookupCall{pgid, hint})
	pid, ok := h.succ[pgid]
	delete(h.succ, pgid) // one re-exec per setSucc
	return pid, ok
}

func (h *fakeHost) setSucc(pgid, pid int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if pid == 0 {
		delete(h.succ, pgid)
		return
	}
	h.succ[pgid] = pid
}

func (h *fakeHost) lookupList() []lookupCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.lookups)
}

func (h *fakeHost) Spawn(req SpawnRequest) (Child, error) {
	p := req.Process
	h.mu.Lock()
	g := h.gate[p.Name]
	h.mu.Unlock()
	if g != nil {
		<-g
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nextPid++
	pid := h.nextPid
	if err := h.spawnErr[p.Name]; err != nil {
		h.spawns = append(h.spawns, spawnCall{p.Name, 0, time.Now()})
		if h.errPid {
			return &fakeChild{h: h, p: p, pid: pid}, err
		}
		return nil, err
	}
	h.spawns = append(h.spawns, spawnCall{p.Name, pid, time.Now()})
	h.listeners = append(h.listeners, listenerUse{req.Listeners, pid})
	h.gens = append(h.gens, req.Generation)
	h.cmds = append(h.cmds, p.Command)
	return &fakeChild{h: h, p: p, pid: pid}, nil
}

func (h *fakeHost) Signal(pid int, sig syscall.Signal, group bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.signals = append(h.signals, sigCall{pid, sig, group, time.Now()})
	if h.onSignal != nil {
		h.onSignal(pid, sig)
	}
	return h.sigErr[pid]
}

func (h *fakeHost) spawnList() []spawnCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.spawns)
}

func (h *fakeHost) signalList() []sigCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.signals)
}

// logRec records log lines as "LEVEL message".
type logRec struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRec) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRec) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.lines = append(l.lines, r.Level.String()+" "+r.Message)
	l.mu.Unlock()
	return nil
}
func (l *logRec) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRec) WithGroup(string) slog.Handler      { return l }

func (l *logRec) has(line string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.lines, line)
}

func (l *logRec) count(line string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, x := range l.lines {
		if x == line {
			n++
		}
	}
	return n
}

// harness runs a Supervisor inside a synctest bubble.
type harness struct {
	t      *testing.T
	s      *Supervisor
	h      *fakeHost
	log    *logRec
	evmu   sync.Mutex // guards events, appended by the Observe callback
	t0     time.Time
	events []Event
	cancel context.CancelFunc
	runErr chan error
}

// newHarness builds the supervisor; prep may adjust the host before Run.
func newHarness(t *testing.T, cfg *config.Config, prep func(*fakeHost)) *harness {
	t.Helper()
	fh := newFakeHost()
	if prep != nil {
		prep(fh)
	}
	lr := &logRec{}
	s := New(cfg, fh, slog.New(lr))
	if fh.records != nil {
		s.Adopt(fh.records)
	}
	ctx, cancel := context.WithCancel(context.Background())
	hs := &harness{t: t, s: s, h: fh, log: lr, t0: time.Now(), cancel: cancel, runErr: make(chan error, 1)}
	s.Observe(func(e Event) {
		hs.evmu.Lock()
		hs.events = append(hs.events, e)
		hs.evmu.Unlock()
	})
	go func() { hs.runErr <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		for _, g := range fh.gate {
			select {
			case <-g:
			default:
				close(g)
			}
		}
		<-hs.runErr
	})
	synctest.Wait()
	return hs
}

// since is the fake time elapsed since the harness started.
func (hs *harness) since(t time.Time) time.Duration { return t.Sub(hs.t0) }

func (hs *harness) sleepUntil(d time.Duration) {
	time.Sleep(time.Until(hs.t0.Add(d)))
	synctest.Wait()
}

// drain returns the events published so far.
func (hs *harness) drain() []Event {
	hs.evmu.Lock()
	defer hs.evmu.Unlock()
	return slices.Clone(hs.events)
}

// transitions returns "name:FROM>TO" for process state events so far.
func (hs *harness) transitions(name string) []string {
	var out []string
	for _, e := range hs.drain() {
		if e.Kind == EventProcessState && e.Name == name {
			out = append(out, e.From.String()+">"+e.To.String())
		}
	}
	return out
}

func (hs *harness) exit(pid, code int) {
	hs.s.Exited(pid, syscall.WaitStatus(code<<8))
	synctest.Wait()
}

func (hs *harness) killed(pid int, sig syscall.Signal) {
	hs.s.Exited(pid, syscall.WaitStatus(sig))
	synctest.Wait()
}

func (hs *harness) info(name string) Info {
	hs.t.Helper()
	in, err := hs.s.ProcessInfo(context.Background(), name)
	if err != nil {
		hs.t.Fatalf("ProcessInfo(%s): %v", name, err)
	}
	return in
}

func (hs *harness) state(name string) State { return hs.info(name).State }

func (hs *harness) wantState(name string, want State) {
	hs.t.Helper()
	if got := hs.state(name); got != want {
		hs.t.Fatalf("%s at %v: state %v, want %v", name, hs.since(time.Now()), got, want)
	}
}

// lastPid is the pid of name's latest successful spawn.
func (hs *harness) lastPid(name string) int {
	hs.t.Helper()
	sp := hs.h.spawnList()
	for i := len(sp) - 1; i >= 0; i-- {
		if sp[i].name == name && sp[i].pid != 0 {
			return sp[i].pid
		}
	}
	hs.t.Fatalf("%s was never spawned", name)
	return 0
}

// spawnTimes lists when name was spawned, relative to the start.
func (hs *harness) spawnTimes(name string) []time.Duration {
	var out []time.Duration
	for _, sp := range hs.h.spawnList() {
		if sp.name == name {
			out = append(out, hs.since(sp.at))
		}
	}
	return out
}

// async runs f in the bubble and returns a channel with its error.
func async(f func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	return ch
}

// ready returns the result of an async call that must have finished.
func ready(t *testing.T, ch <-chan error) (error, bool) {
	t.Helper()
	synctest.Wait()
	select {
	case err := <-ch:
		return err, true
	default:
		return nil, false
	}
}

func wantCode(t *testing.T, err error, code Code) {
	t.Helper()
	var f *Fault
	if !errors.As(err, &f) || f.Code != code {
		t.Fatalf("error %v, want fault %v", err, code)
	}
}

// Config builders with supervisord's defaults.

func prog(name string, opts ...func(*config.Process)) *config.Process {
	p := &config.Process{
		Name: name, Program: name, Command: "/bin/" + name, Argv: []string{"/bin/" + name},
		Priority: 999, Autostart: true, Autorestart: config.AutorestartUnexpected,
		StartSecs: time.Second, StartRetries: 3, ExitCodes: []int{0},
		StopSignal: syscall.SIGTERM, StopWait: 10 * time.Second, UID: -1, Umask: -1,
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func grp(name string, prio int, ps ...*config.Process) *config.Group {
	g := &config.Group{Name: name, Priority: prio, Kind: config.KindGroup}
	for _, p := range ps {
		p.Group = name
	}
	g.Processes = ps
	return g
}

// single makes a [program:x] group.
func single(name string, opts ...func(*config.Process)) *config.Group {
	g := grp(name, 999, prog(name, opts...))
	g.Kind = config.KindProgram
	return g
}

func cfgOf(gs ...*config.Group) *config.Config {
	c := &config.Config{Groups: gs}
	return c
}

func startsecs(d time.Duration) func(*config.Process) {
	return func(p *config.Process) { p.StartSecs = d }
}
func retries(n int) func(*config.Process) { return func(p *config.Process) { p.StartRetries = n } }
func manual(p *config.Process)            { p.Autostart = false }
func prio(n int) func(*config.Process)    { return func(p *config.Process) { p.Priority = n } }
func restart(a config.Autorestart) func(*config.Process) {
	return func(p *config.Process) { p.Autorestart = a }
}
func reloadBy(strategy config.ReloadStrategy, sig syscall.Signal) func(*config.Process) {
	return func(p *config.Process) { p.Drover.Reload, p.Drover.ReloadSignal = strategy, sig }
}
func readyProbe(spec string, timeout time.Duration) func(*config.Process) {
	var r config.Ready // "" for none
	if spec != "" {
		var err error
		if r, err = config.ParseReady(spec); err != nil {
			panic(err)
		}
	}
	return func(p *config.Process) { p.Drover.Ready, p.Drover.ReadyTimeout = r, timeout }
}

// sockets gives p drover-owned sockets.
func sockets(spec string) func(*config.Process) {
	s, err := config.ParseSockets(spec)
	if err != nil {
		panic(err)
	}
	return func(p *config.Process) { p.Drover.Sockets = s }
}
func stopwait(d time.Duration) func(*config.Process) {
	return func(p *config.Process) { p.StopWait = d }
}

func secs(xs ...float64) []time.Duration {
	out := make([]time.Duration, len(xs))
	for i, x := range xs {
		out[i] = time.Duration(x * float64(time.Second))
	}
	return out
}

func formatInt(n int) string { return fmt.Sprint(n) }
