package config

import (
	"slices"
	"strings"
)

// DepCondition is what a depends_on entry waits for.
type DepCondition string

// The conditions of depends_on (process-compose's process_started,
// process_healthy and process_completed_successfully, in drover's words).
const (
	DepStarted DepCondition = "started" // spawned: a pid exists (STARTING or RUNNING)
	DepRunning DepCondition = "running" // RUNNING (startsecs passed, or ready= answered)
	DepReady   DepCondition = "ready"   // RUNNING through its ready= probe (one is required)
	DepExited  DepCondition = "exited"  // EXITED with one of its exitcodes
)

// Dependency is one depends_on entry: a program or group name and the
// condition each of its processes must meet.
type Dependency struct {
	Name string
	Cond DepCondition
}

func (d Dependency) String() string { return d.Name + ":" + string(d.Cond) }

// parseDependsOn reads "db:ready, migrate:exited, cache" (the condition
// defaults to running).
func parseDependsOn(s string) ([]Dependency, error) {
	var out []Dependency
	for _, e := range listOfStrings(s) {
		if e == "" {
			continue
		}
		name, cond, ok := strings.Cut(e, ":")
		d := Dependency{Name: pyStrip(name), Cond: DepRunning}
		if ok {
			d.Cond = DepCondition(strings.ToLower(pyStrip(cond)))
		}
		switch d.Cond {
		case DepStarted, DepRunning, DepReady, DepExited:
		default:
			return nil, verr("%q: unknown condition %q: use started, running, ready or exited", e, cond)
		}
		if _, err := checkName(d.Name); err != nil || d.Name == "" {
			return nil, verr("%q: %q is not a program or group name", e, d.Name)
		}
		if slices.ContainsFunc(out, func(x Dependency) bool { return x.Name == d.Name }) {
			return nil, verr("%q is named twice", d.Name)
		}
		out = append(out, d)
	}
	return out, nil
}

// addDepends gives p a [group:x]'s depends_on (at pos) besides its own:
// a name p already depends on keeps p's condition.
func addDepends(p *Process, deps []Dependency, pos Pos) {
	if len(deps) == 0 {
		return
	}
	if len(p.Drover.DependsOn) == 0 {
		p.Drover.DependsOnPos = pos
	}
	own := p.Drover.DependsOn
	out := slices.Clone(own)
	for _, d := range deps {
		if !slices.ContainsFunc(own, func(x Dependency) bool { return x.Name == d.Name }) {
			out = append(out, d)
		}
	}
	p.Drover.DependsOn = out
}

// DependencyTargets returns the processes a depends_on name stands for:
// the processes of the program of that name, or of the group of that
// name (a [group:x] or a program's own group).
func DependencyTargets(groups []*Group, name string) []*Process {
	var out []*Process
	for _, g := range groups {
		for _, p := range g.Processes {
			if p.Program == name || g.Name == name {
				out = append(out, p)
			}
		}
	}
	return out
}

// checkDepends validates every depends_on against the built groups: names
// exist, ready needs a ready= probe, a program does not depend on itself,
// and the graph has no cycle (reported with the cycle and the place of
// the depends_on that closes it).
func (l *loader) checkDepends() {
	type node struct {
		pos  Pos
		sec  string
		deps []Dependency
	}
	nodes := map[string]*node{} // by program name
	var names []string
	for _, g := range l.cfg.Groups {
		for _, p := range g.Processes {
			if len(p.Drover.DependsOn) == 0 || nodes[p.Program] != nil {
				continue
			}
			sec := "program:" + p.Program
			if gs, ok := l.p.byName["group:"+p.Group]; ok {
				if v, ok := l.p.get(gs, "depends_on"); ok && v.pos == p.Drover.DependsOnPos {
					sec = "group:" + p.Group // the member's only depends_on is its group's
				}
			}
			nodes[p.Program] = &node{pos: p.Drover.DependsOnPos, sec: sec, deps: p.Drover.DependsOn}
			names = append(names, p.Program)
		}
	}
	if len(nodes) == 0 {
		return
	}
	edges := map[string][]string{}
	for _, n := range names {
		nd := nodes[n]
		for _, d := range nd.deps {
			ts := DependencyTargets(l.cfg.Groups, d.Name)
			if len(ts) == 0 {
				l.e.add(nd.pos, nd.sec, "depends_on", "%q names no program or group (defined: %s)", d.Name, l.programNames())
				continue
			}
			for _, t := range ts {
				if d.Cond == DepReady && t.Drover.Ready.Kind == "" {
					l.e.add(nd.pos, nd.sec, "depends_on", "%s: %s has no ready= probe (add one, or use %s:running)", d, t.Name, d.Name)
					break
				}
			}
			for _, t := range ts {
				if !slices.Contains(edges[n], t.Program) {
					edges[n] = append(edges[n], t.Program)
				}
			}
		}
	}
	// Depth-first search; a grey node met again closes a cycle.
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var visit func(n string) bool
	visit = func(n string) bool {
		color[n] = grey
		stack = append(stack, n)
		for _, m := range edges[n] {
			switch color[m] {
			case grey:
				i := slices.Index(stack, m)
				cycle := append(slices.Clone(stack[i:]), m)
				at := nodes[n]
				l.e.add(at.pos, at.sec, "depends_on", "dependency cycle: %s", strings.Join(cycle, " -> "))
				return true
			case white:
				if visit(m) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
		return false
	}
	for _, n := range names {
		if color[n] == white && visit(n) {
			return // one cycle is enough to refuse the file
		}
	}
}

// dependsEqual compares two depends_on lists.
func dependsEqual(a, b []Dependency) bool { return slices.Equal(a, b) }
