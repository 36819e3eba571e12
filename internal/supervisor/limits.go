package supervisor

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

// The limit watchdog (config.Limits: memory_limit, worker_memory_limit,
// cpu_limit). The core owns its state; a timer in the core's heap, armed
// only while a process with limits is RUNNING, starts one sample at a
// time on a worker goroutine (Host's Sampler capability reads /proc there)
// and the result comes back as a message. An idle daemon, or one whose
// programs have no limits, has no timer and no goroutine for it.

// limitInterval is the time between two samples.
const limitInterval = time.Second

// ProcUsage is one process of a sampled tree.
type ProcUsage struct {
	Pid int
	RSS int64         // bytes
	CPU time.Duration // user + system time since it started
	// Threads is its thread count (the sampler's own use).
	Threads int
}

// TreeUsage is a process tree: its root (the main pid) first, then every
// descendant.
type TreeUsage []ProcUsage

// RSS is the sum of the processes' resident sets.
func (t TreeUsage) RSS() int64 {
	var n int64
	for _, u := range t {
		n += u.RSS
	}
	return n
}

// Sampler is a Host capability the watchdog needs: without it limits are
// not enforced. SampleTrees reads the usage of each root's process tree; a
// root that is gone is absent from the map. It is called on a worker
// goroutine, one call at a time, and may block briefly.
type Sampler interface {
	SampleTrees(roots []int) map[int]TreeUsage
}

// LimitBreach is what an EventLimit reports: a limit exceeded for at least
// its grace window, and what the watchdog does about it.
type LimitBreach struct {
	// Resource is "memory" or "cpu"; Worker is the pid of the one process
	// over worker_memory_limit (0 for the whole tree).
	Resource string
	Worker   int
	// Value and Max are bytes (memory) or percent of one CPU (cpu).
	Value, Max float64
	Held       time.Duration
	// Action is "reload", or "signal:NAME" sent to Target.
	Action string
	Target int
}

// limitWatch is the watchdog's part of the core.
type limitWatch struct {
	sampler  Sampler
	interval time.Duration
	t        timer
	busy     bool // a sample is in flight
	procs    map[*proc]*limitState
}

// limitState is one process's watch: when each breach began (zero: none)
// and the previous CPU sample.
type limitState struct {
	pid       int // the root sampled; a new one starts afresh
	memSince  time.Time
	cpuSince  time.Time
	workers   map[int]time.Time // worker pid → breach start
	signalled map[int]bool      // workers sent the action's signal
	lastAt    time.Time
	lastCPU   map[int]time.Duration
	acting    bool // a reload the watchdog asked for runs
}

func (c *core) initLimits() {
	c.lim.sampler, _ = c.s.host.(Sampler)
	c.lim.interval = limitInterval
	c.lim.t = timer{idx: -1, fire: (*core).sampleLimits}
}

// watchLimits starts watching p (now RUNNING) if it has limits.
func (c *core) watchLimits(p *proc) {
	if !p.cfg.Drover.Limits.Any() || c.lim.sampler == nil {
		return
	}
	if c.lim.procs == nil {
		c.lim.procs = make(map[*proc]*limitState)
	}
	if c.lim.procs[p] == nil {
		c.lim.procs[p] = &limitState{}
	}
	c.armLimits()
}

func (c *core) armLimits() {
	if !c.lim.busy && !c.lim.t.armed() && len(c.lim.procs) > 0 {
		c.timers.arm(&c.lim.t, time.Now().Add(c.lim.interval))
	}
}

// limitTarget is one tree to sample.
type limitTarget struct {
	p   *proc
	pid int
}

// sampleLimits drops processes that no longer run or have no limits, and
// samples the others' trees off the owner goroutine.
func (c *core) sampleLimits() {
	var targets []limitTarget
	var roots []int
	for p, st := range c.lim.procs {
		if p.state != Running || c.groups[p.group.name] != p.group || !p.cfg.Drover.Limits.Any() {
			delete(c.lim.procs, p)
			continue
		}
		// Not judged while a reload or a hand-off runs (two generations).
		if p.reload != nil || p.handoff != nil || st.acting || p.cur == nil || p.cur.pid == 0 {
			*st = limitState{acting: st.acting} // a new generation starts afresh
			continue
		}
		targets = append(targets, limitTarget{p, p.cur.pid})
		roots = append(roots, p.cur.pid)
	}
	if len(targets) == 0 {
		c.armLimits()
		return
	}
	c.lim.busy = true
	s, smp := c.s, c.lim.sampler
	go func() {
		u := smp.SampleTrees(roots)
		s.post(func(c *core) { c.sampled(targets, u, time.Now()) })
	}()
}

// sampled checks each tree against its limits.
func (c *core) sampled(targets []limitTarget, usage map[int]TreeUsage, now time.Time) {
	c.lim.busy = false
	for _, tg := range targets {
		st := c.lim.procs[tg.p]
		tree, ok := usage[tg.pid]
		if st == nil || !ok || len(tree) == 0 || tg.p.state != Running || tg.p.cur == nil ||
			tg.p.cur.pid != tg.pid || tg.p.reload != nil || tg.p.handoff != nil || st.acting {
			continue
		}
		if st.pid != tg.pid {
			*st = limitState{pid: tg.pid}
		}
		c.checkLimits(tg.p, st, tree, now)
	}
	c.armLimits()
}

// held reports whether a breach (over) has lasted grace, keeping its start
// in *since.
func held(since *time.Time, over bool, now time.Time, grace time.Duration) (time.Duration, bool) {
	if !over {
		*since = time.Time{}
		return 0, false
	}
	if since.IsZero() {
		*since = now
	}
	d := now.Sub(*since)
	return d, d >= grace
}

func (c *core) checkLimits(p *proc, st *limitState, tree TreeUsage, now time.Time) {
	l := p.cfg.Drover.Limits
	if l.Memory > 0 {
		rss := tree.RSS()
		if d, ok := held(&st.memSince, rss > l.Memory, now, l.MemoryGrace); ok {
			st.memSince = time.Time{}
			c.breach(p, st, tree, LimitBreach{Resource: "memory", Value: float64(rss), Max: float64(l.Memory), Held: d}, l.MemoryAction)
			return
		}
	}
	if l.WorkerMemory > 0 {
		seen := make(map[int]time.Time, len(st.workers))
		for _, w := range tree[1:] {
			since := st.workers[w.Pid]
			d, ok := held(&since, w.RSS > l.WorkerMemory && !st.signalled[w.Pid], now, l.MemoryGrace)
			if !since.IsZero() {
				seen[w.Pid] = since
			}
			if ok {
				delete(seen, w.Pid)
				st.workers = seen
				c.breach(p, st, tree, LimitBreach{Resource: "memory", Worker: w.Pid, Value: float64(w.RSS),
					Max: float64(l.WorkerMemory), Held: d}, l.MemoryAction)
				return
			}
		}
		st.workers = seen
	}
	if l.CPU > 0 {
		pct, ok := cpuPercent(st, tree, now)
		if !ok {
			return
		}
		if d, ok := held(&st.cpuSince, pct > l.CPU, now, l.CPUGrace); ok {
			st.cpuSince = time.Time{}
			c.breach(p, st, tree, LimitBreach{Resource: "cpu", Value: pct, Max: l.CPU, Held: d}, l.CPUAction)
		}
	}
}

// cpuPercent is the tree's CPU use since the previous sample, in percent
// of one CPU: the time of processes seen both times, plus all of the time
// of those born since. It reports false on the first sample.
func cpuPercent(st *limitState, tree TreeUsage, now time.Time) (float64, bool) {
	prev, at := st.lastCPU, st.lastAt
	st.lastCPU = make(map[int]time.Duration, len(tree))
	st.lastAt = now
	for _, u := range tree {
		st.lastCPU[u.Pid] = u.CPU
	}
	if at.IsZero() || !now.After(at) {
		return 0, false
	}
	var used time.Duration
	for _, u := range tree {
		if before, ok := prev[u.Pid]; ok {
			if u.CPU > before {
				used += u.CPU - before
			}
		} else {
			used += u.CPU
		}
	}
	return 100 * float64(used) / float64(now.Sub(at)), true
}

// breach logs, publishes and acts: a signal to the process over its own
// limit or to the biggest worker, else (or without a worker) the
// program's reload. The watchdog never kills.
func (c *core) breach(p *proc, st *limitState, tree TreeUsage, b LimitBreach, a config.LimitAction) {
	if a.Signal != 0 {
		b.Target = b.Worker
		if b.Target == 0 {
			b.Target = biggestWorker(tree)
		}
	}
	what := "process tree"
	if b.Worker != 0 {
		what = fmt.Sprintf("worker %d", b.Worker)
	}
	var doing string
	if b.Target != 0 {
		b.Action = a.String()
		doing = fmt.Sprintf("sending %s to worker %d", strings.TrimPrefix(b.Action, "signal:"), b.Target)
	} else {
		b.Action = "reload"
		doing = "reloading"
		if a.Signal != 0 {
			doing = "no worker to signal: reloading"
		}
	}
	label := "RSS"
	if b.Resource == "cpu" {
		label = "CPU"
	}
	c.logf(slog.LevelWarn, "%s limit: '%s' %s %s %s > %s for %s: %s", b.Resource, namespec(p), what, label,
		formatUsage(b.Resource, b.Value), formatUsage(b.Resource, b.Max), b.Held.Round(100*time.Millisecond), doing)
	c.s.bus.publish(Event{Kind: EventLimit, Time: time.Now(), Group: p.group.name, Name: p.cfg.Name,
		Pid: p.cur.pid, Limit: &b})
	if b.Target != 0 {
		if st.signalled == nil {
			st.signalled = make(map[int]bool)
		}
		st.signalled[b.Target] = true
		if err := c.s.host.Signal(b.Target, a.Signal, false); err != nil && !isNoProcess(err) {
			c.logf(slog.LevelError, "%s limit: '%s' could not signal worker %d: %v", b.Resource, namespec(p), b.Target, err)
		}
		return
	}
	st.acting = true
	name, s, res := namespec(p), c.s, b.Resource
	go func() {
		err := s.ReloadProcess(s.life, name)
		s.post(func(c *core) {
			st.acting = false
			if err != nil {
				c.logf(slog.LevelError, "%s limit: '%s' reload failed: %v", res, name, err)
				return
			}
			c.logf(slog.LevelInfo, "%s limit: '%s' reloaded", res, name)
		})
	}()
}

// biggestWorker is the pid of the largest process below the root; 0 when
// there is none.
func biggestWorker(tree TreeUsage) int {
	pid, max := 0, int64(-1)
	for _, u := range tree[1:] {
		if u.RSS > max {
			pid, max = u.Pid, u.RSS
		}
	}
	return pid
}

// formatUsage spells bytes in MB (as written in memory_limit) and CPU in
// percent.
func formatUsage(resource string, v float64) string {
	if resource == "cpu" {
		return fmt.Sprintf("%.0f%%", v)
	}
	return fmt.Sprintf("%.0f MB", v/(1<<20))
}
