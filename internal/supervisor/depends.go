package supervisor

import (
	"log/slog"
	"slices"

	"github.com/drover-sh/drover/internal/config"
)

// depends_on: an automatic start (autostart at startup or after an update)
// of a process whose dependencies are not met is held; the hold is
// re-checked by a waiter, that is after every message that changed a
// state, so a dependency's state change releases its dependents at once
// and nothing polls. A dependency that is FATAL (or never started) leaves
// its dependents waiting, saying so in their description.

// gate holds p's automatic start until its dependencies are met. It
// reports whether p was held.
func (c *core) gate(p *proc) bool {
	if len(p.cfg.Drover.DependsOn) == 0 {
		return false
	}
	why := c.unmet(p)
	if why == "" {
		return false
	}
	p.waiting = why
	c.dirty = true
	if !slices.Contains(c.gated, p) {
		c.gated = append(c.gated, p)
		c.logf(slog.LevelInfo, "holding %s: %s", p.cfg.Name, why)
	}
	if len(c.gated) == 1 {
		c.addWaiter(&waiter{}, (*core).releaseGated)
	}
	return true
}

// releaseGated starts the held processes whose dependencies are met now;
// it reports true (the waiter is done) once nothing is held.
func (c *core) releaseGated() bool {
	keep := c.gated[:0]
	for _, p := range c.gated {
		switch {
		case c.state != StateRunning, c.groups[p.group.name] != p.group,
			p.state != Stopped, !p.laststart.IsZero():
			// Shut down, removed, or started by hand meanwhile.
			p.waiting = ""
			continue
		}
		why := c.unmet(p)
		if why == "" {
			p.waiting = ""
			c.logf(slog.LevelInfo, "releasing %s: its dependencies are met", p.cfg.Name)
			c.handle(p, event{kind: evStart})
			continue
		}
		p.waiting = why
		keep = append(keep, p)
	}
	clear(c.gated[len(keep):])
	c.gated = keep
	return len(c.gated) == 0
}

// ungate drops p's hold (a stop request for a held process).
func (c *core) ungate(p *proc) bool {
	i := slices.Index(c.gated, p)
	if i < 0 {
		return false
	}
	c.gated = slices.Delete(c.gated, i, i+1)
	p.waiting = ""
	c.dirty = true
	return true
}

// unmet describes p's first unmet dependency ("" when all are met), e.g.
// "waiting for db:ready (db is FATAL)".
func (c *core) unmet(p *proc) string {
	for _, d := range p.cfg.Drover.DependsOn {
		targets := c.depTargets(d.Name)
		if len(targets) == 0 {
			return "waiting for " + d.String() + " (not configured)"
		}
		for _, t := range targets {
			if !depMet(t, d.Cond) {
				return "waiting for " + d.String() + " (" + t.cfg.Name + " is " + t.state.String() + ")"
			}
		}
	}
	return ""
}

// depTargets is config.DependencyTargets over the active groups, from an
// index built on first use after the groups changed.
func (c *core) depTargets(name string) []*proc {
	if c.depIndex == nil {
		c.depIndex = make(map[string][]*proc)
		for _, g := range c.order {
			for _, p := range g.procs {
				c.depIndex[g.name] = append(c.depIndex[g.name], p)
				if p.cfg.Program != g.name {
					c.depIndex[p.cfg.Program] = append(c.depIndex[p.cfg.Program], p)
				}
			}
		}
	}
	return c.depIndex[name]
}

// depMet reports whether t meets cond now.
func depMet(t *proc, cond config.DepCondition) bool {
	switch cond {
	case config.DepStarted:
		return t.state == Running || (t.state == Starting && t.cur != nil && t.cur.pid > 0)
	case config.DepRunning, config.DepReady:
		return t.state == Running
	case config.DepExited:
		return t.state == Exited && slices.Contains(t.cfg.ExitCodes, t.exitstatus)
	}
	return false
}

// depOrder orders gs (sorted by priority, name) so that a group comes
// after every group it depends on: each group in turn, its dependencies
// first (themselves in priority order). That is the start order, and
// reversed the stop order. A cycle (the config refuses one) is cut where
// it is met.
func depOrder(gs []*group) []*group {
	idx := make(map[*group]int, len(gs))
	named := make(map[string][]int, len(gs)) // group or program name → groups
	for i, g := range gs {
		idx[g] = i
		named[g.name] = append(named[g.name], i)
		for _, p := range g.procs {
			if n := p.cfg.Program; n != g.name && !slices.Contains(named[n], i) {
				named[n] = append(named[n], i)
			}
		}
	}
	out := make([]*group, 0, len(gs))
	seen := make([]bool, len(gs))
	var visit func(i int)
	visit = func(i int) {
		if seen[i] {
			return
		}
		seen[i] = true
		var deps []int
		for _, p := range gs[i].procs {
			for _, d := range p.cfg.Drover.DependsOn {
				for _, j := range named[d.Name] {
					if j != i && !slices.Contains(deps, j) {
						deps = append(deps, j)
					}
				}
			}
		}
		slices.Sort(deps)
		for _, j := range deps {
			visit(j)
		}
		out = append(out, gs[i])
	}
	for i := range gs {
		visit(i)
	}
	return out
}

func hasDeps(g *group) bool {
	return slices.ContainsFunc(g.procs, func(p *proc) bool { return len(p.cfg.Drover.DependsOn) > 0 })
}
