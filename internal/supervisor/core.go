package supervisor

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/reload"
)

// core is the state owned by the Run goroutine. No other goroutine touches
// it; there is no lock.
type core struct {
	s     *Supervisor
	log   *slog.Logger
	state SupervisorState

	groups map[string]*group
	order  []*group // by (priority, name)

	// pids routes exits to the instance (process generation) that owns the
	// pid, so two generations of one process can be alive at once.
	pids map[int]*instance
	// parked holds exits of unknown pids while spawns are in flight: the
	// reaper may report an exit before the spawn result arrives. This is
	// the one place that case is handled: the host keeps nothing per pid.
	parked map[int]parkedExit
	// exits counts reaped messages; a parked exit can belong to a spawn
	// only if it was reaped after that spawn began (guards against a pid
	// reused after an orphan's exit).
	exits uint64
	// ignore holds pids of failed spawns whose (shim) exit is still due.
	ignore   map[int]struct{}
	inflight int
	// following counts successor lookups in flight (re-exec following):
	// exits of unknown pids are parked meanwhile, as during spawns.
	following int
	gen       uint64
	// programs outlive procs (updates) and supervisors (Handover).
	programs map[string]*program

	timers  timerHeap
	waiters []*waiter
	dirty   bool // a state changed since waiters were last checked

	stopping int   // processes in STOPPING, for the reporter
	report   timer // "waiting for ..." reporter; armed only while needed

	finished bool
	exitErr  error

	// lim is the memory and CPU watchdog (limits.go).
	lim limitWatch

	// adopt are the records Adopt gave, applied by startup.
	adopt []ProcRecord
	// gated are processes whose automatic start waits for their
	// depends_on (depends.go).
	gated []*proc
	// bulk defers the dependency order while New adds every group.
	bulk bool
	// depIndex maps program and group names to their processes for
	// depends_on; nil after the groups changed (depends.go).
	depIndex map[string][]*proc
}

// group is one active process group.
type group struct {
	name   string
	cfg    *config.Group
	procs  []*proc // by (priority, name)
	byName map[string]*proc
	// scaled is set by drover scale until an update scales g back
	// (scale.go); scaling is the scale running now, if any.
	scaled  bool
	scaling *scaleOp
}

func (g *group) unstopped() bool {
	for _, p := range g.procs {
		if !p.state.IsStopped() {
			return true
		}
	}
	return false
}

// proc is one process: the state machine plus the generation that runs now.
type proc struct {
	cfg   *config.Process
	group *group
	state State
	logs  Logs // from Host.Logs when the group became active

	backoff    int // consecutive start failures (supervisord's backoff)
	crashes    int // consecutive runs shorter than 1 s (crash-loop delay)
	laststart  time.Time
	laststop   time.Time
	spawnerr   string
	exitstatus int
	lastWait   syscall.WaitStatus // of the last exit of cur, for exit_daemon_on

	// cur is the generation this process is about; nil when none is alive
	// or in flight.
	cur *instance
	// reload is the reload request running for this process, if any: a
	// second one is refused while it is set.
	reload *reloadRec
	// handoff is the other live generation during a blue/green hand-off:
	// the new one until it is ready, then the old one until it exited;
	// nil otherwise.
	handoff *instance
	// pending says why the config the last update gave this process is not
	// the one it runs (its hand-off failed); "" when none is.
	pending string
	// waiting says which depends_on holds the automatic start; "" when none.
	waiting string
	// health is the health check's state (health.go); nil without health=.
	health *healthState
	// t is the one deadline of the current state: startsecs (STARTING),
	// retry (BACKOFF), kill escalation (STOPPING), delayed restart (EXITED).
	t timer
	// stats are the counters /metrics reports (Supervisor.Stats).
	stats procStats
}

// instance is one generation of a process: one spawn and, if it succeeded,
// one pid.
type instance struct {
	p         *proc
	cfg       *config.Process // what it was spawned with (p.cfg then, or an update's)
	gen       uint64
	pid       int // 0 while the spawn is in flight
	spawnedAt time.Time
	// exitsAtSpawn is core.exits when the spawn began.
	exitsAtSpawn uint64

	// pgid is the process group of the generation: the first pid (the
	// spawn shim calls setpgrp), kept by every re-exec'd successor.
	pgid int
	// follow makes an exit of the main pid look for a re-exec'd successor
	// first (reload = reexec, or the reload signal was sent).
	follow bool
	// looking is set while a successor lookup for the exited pid runs;
	// exitsAtLookup is core.exits when it began (parked exits older than
	// that belong to someone else).
	looking       bool
	exitsAtLookup uint64
	// reexecs counts the re-execs followed; prevPid is the main pid before
	// the last one.
	reexecs int
	prevPid int

	// child is what Host.Spawn made (stdin, readiness probe); its
	// resources go when its own pid is reaped.
	child Child
	// sockets and listeners are the program's sockets and this
	// generation's hold on them (Sockets.Listen), released when the
	// generation is gone for good.
	sockets   Sockets
	listeners *reload.Set

	// gone is set when the main pid was reaped for good.
	gone bool
	// readyCancel ends a readiness wait in flight (waitReady).
	readyCancel func()
	// unready says why a start gated on readiness failed; the generation
	// was asked to stop and its exit is a start failure.
	unready string
	// respawn: a generation taken over (Adopt) whose output could not be
	// captured was killed; once it is gone the process starts afresh.
	respawn bool
}

// parkedExit is an exit that came before its spawn result (maybe).
type parkedExit struct {
	status syscall.WaitStatus
	seq    uint64 // c.exits when it was reaped
}

// waiter is a deferred reply, re-checked after every message that changed a
// state until check reports it has replied.
type waiter struct {
	check func(c *core) bool
}

func newCore(s *Supervisor) *core {
	c := &core{
		s:      s,
		log:    s.log,
		state:  StateRunning,
		groups: make(map[string]*group),
		pids:   make(map[int]*instance),
		parked: make(map[int]parkedExit),
		ignore: make(map[int]struct{}),

		programs: make(map[string]*program),
	}
	c.report = timer{idx: -1, fire: (*core).fireReport}
	c.initLimits()
	return c
}

// addGroup makes gc active. It reports false if the name is taken.
func (c *core) addGroup(gc *config.Group, notify bool) (*group, bool) {
	if gc == nil {
		return nil, false
	}
	if _, ok := c.groups[gc.Name]; ok {
		return nil, false
	}
	g := &group{name: gc.Name, cfg: gc, byName: make(map[string]*proc, len(gc.Processes))}
	for _, pc := range gc.Processes {
		if pc == nil || g.byName[pc.Name] != nil {
			continue // the config package never produces these; do not crash on them
		}
		p := c.newProc(g, pc)
		g.procs = append(g.procs, p)
		g.byName[pc.Name] = p
	}
	sortProcs(g.procs)
	c.groups[g.name] = g
	c.place(g)
	if notify {
		c.s.bus.publish(Event{Kind: EventGroupAdded, Time: time.Now(), Group: g.name, Config: g.cfg})
	}
	return g, true
}

// place puts g in c.order: by (priority, name), and with depends_on after
// the groups it depends on.
func (c *core) place(g *group) {
	c.depIndex = nil
	c.order = slices.DeleteFunc(c.order, func(o *group) bool { return o == g })
	i := sort.Search(len(c.order), func(i int) bool { return groupLess(g, c.order[i]) })
	c.order = slices.Insert(c.order, i, g)
	if !c.bulk {
		c.orderDeps()
	}
}

// orderDeps puts c.order in dependency order when some group has
// depends_on (c.order may be in such an order already, not sorted: it is
// sorted again first).
func (c *core) orderDeps() {
	if slices.ContainsFunc(c.order, hasDeps) {
		sortGroups(c.order)
		c.order = depOrder(c.order)
	}
}

// removeGroup deletes g; the caller checked that every process is stopped.
func (c *core) removeGroup(g *group) {
	for _, p := range g.procs {
		c.timers.cancel(&p.t)
		if p.health != nil {
			c.timers.cancel(&p.health.t)
		}
	}
	delete(c.groups, g.name)
	c.depIndex = nil
	for i, x := range c.order {
		if x == g {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
	c.s.bus.publish(Event{Kind: EventGroupRemoved, Time: time.Now(), Group: g.name})
}

func (c *core) startup() {
	now := time.Now()
	for _, g := range c.order {
		c.s.bus.publish(Event{Kind: EventGroupAdded, Time: now, Group: g.name, Config: g.cfg})
	}
	c.s.bus.publish(Event{Kind: EventSupervisorState, Time: now, Supervisor: StateRunning})
	c.adoptAll()
	for _, g := range c.order {
		c.autostart(g)
	}
}

// autostart spawns g's autostart processes that were never started
// (STOPPED->STARTING happens automatically only once).
func (c *core) autostart(g *group) {
	if c.state != StateRunning {
		return
	}
	for _, p := range g.procs {
		if p.cfg.Autostart && p.state == Stopped && p.laststart.IsZero() && !c.gate(p) {
			c.handle(p, event{kind: evStart})
		}
	}
}

// settle re-checks waiters after a message changed something, until no
// check changes anything more. Waiters added by a check are kept.
func (c *core) settle() {
	for c.dirty {
		c.dirty = false
		old := c.waiters
		c.waiters = nil
		keep := old[:0]
		for _, w := range old {
			if !w.check(c) {
				keep = append(keep, w)
			}
		}
		c.waiters = append(keep, c.waiters...)
		for i := len(c.waiters); i < len(old); i++ {
			old[i] = nil // drop finished waiters for the GC
		}
	}
}

func (c *core) addWaiter(w *waiter, check func(c *core) bool) {
	w.check = check
	c.waiters = append(c.waiters, w)
	c.dirty = true
}

func (c *core) removeWaiter(w *waiter) {
	for i, x := range c.waiters {
		if x == w {
			c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
			return
		}
	}
}

func (c *core) fireDue(now time.Time) {
	for t := c.timers.popDue(now); t != nil; t = c.timers.popDue(now) {
		t.fire(c)
	}
}

// reaped routes one exit to its generation, parks it, or drops an orphan.
func (c *core) reaped(pid int, status syscall.WaitStatus) {
	c.exits++
	if inst, ok := c.pids[pid]; ok {
		delete(c.pids, pid)
		inst.childReaped(pid)
		if c.lookForSuccessor(inst, status) {
			return
		}
		c.handle(inst.p, event{kind: evExit, inst: inst, status: status})
		return
	}
	if _, ok := c.ignore[pid]; ok {
		delete(c.ignore, pid)
		c.logf(slog.LevelDebug, "reaped failed spawn pid %d (%s)", pid, describeStatus(status))
		return
	}
	if c.inflight > 0 || c.following > 0 {
		c.parked[pid] = parkedExit{status, c.exits}
		return
	}
	c.logf(slog.LevelInfo, "reaped unknown pid %d (%s)", pid, describeStatus(status))
}

// spawnDone takes a spawn result on the owner goroutine.
func (c *core) spawnDone(inst *instance, child Child, err error) {
	c.inflight--
	c.dirty = true // start requests without wait answer on the result
	pid := 0
	if child != nil {
		pid = child.Pid()
	}
	pe, parked := c.parked[pid]
	parked = parked && pid > 0 && pe.seq > inst.exitsAtSpawn
	if parked {
		delete(c.parked, pid)
	}
	if err != nil {
		if pid > 0 && !parked {
			c.ignore[pid] = struct{}{}
		}
		inst.release()
		c.handle(inst.p, event{kind: evSpawned, inst: inst, err: err})
	} else {
		inst.pid = pid
		inst.pgid = pid
		inst.child = child
		inst.follow = inst.p.cfg.Drover.Reload == config.ReloadReexec
		c.pids[pid] = inst
		c.handle(inst.p, event{kind: evSpawned, inst: inst})
		// STARTING was published before the pid existed.
		c.s.bus.publish(Event{Kind: EventPidChanged, Time: time.Now(), Group: inst.p.group.name, Name: inst.p.cfg.Name, Pid: pid})
		if parked {
			delete(c.pids, pid)
			child.Exited()
			c.handle(inst.p, event{kind: evExit, inst: inst, status: pe.status})
		}
	}
	c.flushParked()
}

// flushParked logs and drops parked exits once nothing in flight can claim
// them.
func (c *core) flushParked() {
	if c.inflight > 0 || c.following > 0 {
		return
	}
	for pid, pe := range c.parked {
		delete(c.parked, pid)
		c.logf(slog.LevelInfo, "reaped unknown pid %d (%s)", pid, describeStatus(pe.status))
	}
}

// Stop reports: while anything is STOPPING, "waiting for x to stop" every
// 2 s; during a shutdown or restart, "waiting for a, b to die" every 3 s
// (supervisord's two throttled messages). The timer exists only then.
const (
	stopReportEvery     = 2 * time.Second
	shutdownReportEvery = 3 * time.Second
)

func (c *core) armReport() {
	if c.report.armed() {
		return
	}
	d := stopReportEvery
	if c.state != StateRunning {
		d = shutdownReportEvery
	}
	c.timers.arm(&c.report, time.Now().Add(d))
}

func (c *core) fireReport() {
	if c.state != StateRunning {
		var names []string
		for _, g := range c.order {
			for _, p := range g.procs {
				if !p.state.IsStopped() {
					names = append(names, p.cfg.Name)
				}
			}
		}
		if len(names) == 0 {
			return
		}
		c.log.Info("waiting for " + strings.Join(names, ", ") + " to die")
		c.armReport()
		return
	}
	if c.stopping == 0 {
		return
	}
	for _, g := range c.order {
		for _, p := range g.procs {
			if p.state == Stopping {
				c.log.Info("waiting for " + p.cfg.Name + " to stop")
			}
		}
	}
	c.armReport()
}

// logf formats and logs msg only when the level is enabled.
func (c *core) logf(level slog.Level, format string, args ...any) {
	if c.log.Enabled(context.Background(), level) {
		c.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}
