package supervisor

import (
	"context"
	"errors"

	"github.com/drover-sh/drover/internal/config"
)

// UpdateResult names the groups an update added, changed and removed, in
// config order. A changed group was stopped, removed and re-added, or
// handed off to its new config (also in HandedOff). Failed are the changed
// groups a hand-off could not bring to their new config (Status FAILED;
// the previous config keeps serving).
type UpdateResult struct {
	Added, Changed, Removed []string
	HandedOff               []string
	Failed                  []Result
}

// diff is supervisord's diff_to_active, restricted to names when given.
type diff struct {
	added, changed []*config.Group // new configs
	removed        []*group
	changedOld     []*group
}

func (c *core) diff(cfg *config.Config, names []string) (diff, error) {
	var d diff
	if cfg == nil {
		return d, fault(CodeBadArguments, "no configuration")
	}
	newByName := make(map[string]*config.Group, len(cfg.Groups))
	var groups []*config.Group
	for _, g := range cfg.Groups {
		if g != nil && newByName[g.Name] == nil {
			newByName[g.Name] = g
			groups = append(groups, g)
		}
	}
	want := func(string) bool { return true }
	if len(names) > 0 {
		set := make(map[string]bool, len(names))
		for _, n := range names {
			if c.groups[n] == nil && newByName[n] == nil {
				return d, fault(CodeBadName, n)
			}
			set[n] = true
		}
		want = func(n string) bool { return set[n] }
	}
	for _, ng := range groups {
		if !want(ng.Name) {
			continue
		}
		old := c.groups[ng.Name]
		switch {
		case old == nil:
			d.added = append(d.added, ng)
		case !groupEqual(old.cfg, ng):
			d.changed = append(d.changed, ng)
			d.changedOld = append(d.changedOld, old)
		}
	}
	for _, g := range c.order {
		if want(g.name) && newByName[g.name] == nil {
			d.removed = append(d.removed, g)
		}
	}
	return d, nil
}

func (d diff) result() UpdateResult {
	var r UpdateResult
	for _, g := range d.added {
		r.Added = append(r.Added, g.Name)
	}
	for _, g := range d.changed {
		r.Changed = append(r.Changed, g.Name)
	}
	for _, g := range d.removed {
		r.Removed = append(r.Removed, g.name)
	}
	return r
}

// groupEqual compares group configs as supervisord's reread does
// (config.Group.Equal: every process option, environment, serverurl, group
// priority and membership; not positions or generated AUTO log paths).
func groupEqual(a, b *config.Group) bool { return a.Equal(b) }

// Diff is reloadConfig's comparison of cfg with the active groups; it
// changes nothing.
func (s *Supervisor) Diff(ctx context.Context, cfg *config.Config) (UpdateResult, error) {
	return call(s, ctx, func(c *core, _ *waiter, reply chan<- res[UpdateResult]) {
		d, err := c.diff(cfg, nil)
		reply <- res[UpdateResult]{v: d.result(), err: err}
	})
}

// Update applies cfg like supervisorctl's update (also used for HUP):
// removed groups are stopped and removed, changed groups are stopped,
// removed and re-added, added groups are added; added and changed groups
// autostart; unchanged groups are not touched. names limits the work to
// those groups (BAD_NAME, and nothing done, for a name in neither config).
// The stops of all affected groups run together; the reply comes when the
// table has been changed. A removed group whose stop FAILED is kept and
// reported in the returned error (joined faults); SHUTDOWN_STATE if a
// shutdown began meanwhile.
//
// A changed group that can be handed off (see update_roll.go) is not
// stopped: once the rest is applied its processes are handed off to the
// new config one at a time, and the reply waits for that too.
func (s *Supervisor) Update(ctx context.Context, cfg *config.Config, names []string) (UpdateResult, error) {
	var rolls []roll // set on the owner goroutine before the reply
	u, err := call(s, ctx, func(c *core, w *waiter, reply chan<- res[UpdateResult]) {
		if err := c.checkRunning(); err != nil {
			reply <- res[UpdateResult]{err: err}
			return
		}
		d, err := c.diff(cfg, names)
		if err != nil {
			reply <- res[UpdateResult]{err: err}
			return
		}
		c.settlePending(d, names)
		rolls = c.takeRolls(&d)
		stopping := append(append([]*group(nil), d.removed...), d.changedOld...)
		failed := make(map[*group]error)
		for _, g := range stopping {
			for _, p := range g.procs {
				if !p.state.IsRunning() && !p.retryPending() {
					continue
				}
				if err := c.stopOne(p); err != nil {
					failed[g] = errors.Join(failed[g], err)
				}
			}
		}
		c.addWaiter(w, func(c *core) bool {
			for _, g := range stopping {
				if c.groups[g.name] == g && g.unstopped() {
					return false
				}
			}
			reply <- c.applyUpdate(d, failed)
			return true
		})
	})
	var f *Fault
	if len(rolls) == 0 || ctx.Err() != nil || (errors.As(err, &f) && f.Code == CodeShutdownState) {
		return u, err
	}
	if rerr := s.runRolls(ctx, rolls, &u); rerr != nil {
		return u, rerr
	}
	return u, err
}

func (c *core) applyUpdate(d diff, failed map[*group]error) res[UpdateResult] {
	if err := c.checkRunning(); err != nil {
		return res[UpdateResult]{err: err}
	}
	var errs []error
	var r UpdateResult
	for _, g := range d.removed {
		if c.groups[g.name] != g {
			continue
		}
		if err := failed[g]; err != nil {
			errs = append(errs, err)
			continue
		}
		c.removeGroup(g)
		r.Removed = append(r.Removed, g.name)
	}
	var started []*group
	for i, ng := range d.changed {
		old := d.changedOld[i]
		if c.groups[old.name] != old {
			continue
		}
		if err := failed[old]; err != nil {
			errs = append(errs, err)
			continue
		}
		c.removeGroup(old)
		g, _ := c.addGroup(ng, true)
		started = append(started, g)
		r.Changed = append(r.Changed, ng.Name)
	}
	for _, ng := range d.added {
		g, ok := c.addGroup(ng, true)
		if !ok {
			errs = append(errs, fault(CodeAlreadyAdded, ng.Name))
			continue
		}
		started = append(started, g)
		r.Added = append(r.Added, ng.Name)
	}
	sortGroups(started)
	for _, g := range started {
		c.autostart(g)
	}
	return res[UpdateResult]{v: r, err: errors.Join(errs...)}
}

// AddGroup is addProcessGroup for a group config the caller took from the
// last read configuration (the caller answers BAD_NAME for unknown names):
// ALREADY_ADDED if active. Its autostart processes start.
func (s *Supervisor) AddGroup(ctx context.Context, gc *config.Group) error {
	_, err := call(s, ctx, func(c *core, _ *waiter, reply chan<- res[struct{}]) {
		if err := c.checkRunning(); err != nil {
			reply <- res[struct{}]{err: err}
			return
		}
		if gc == nil {
			reply <- res[struct{}]{err: fault(CodeBadName, "")}
			return
		}
		g, ok := c.addGroup(gc, true)
		if !ok {
			reply <- res[struct{}]{err: fault(CodeAlreadyAdded, gc.Name)}
			return
		}
		c.autostart(g)
		reply <- res[struct{}]{}
	})
	return err
}

// RemoveGroup is removeProcessGroup: BAD_NAME, or STILL_RUNNING if any
// process is not in a stopped state.
func (s *Supervisor) RemoveGroup(ctx context.Context, name string) error {
	_, err := call(s, ctx, func(c *core, _ *waiter, reply chan<- res[struct{}]) {
		err := c.checkRunning()
		var g *group
		if err == nil {
			g, err = c.lookupGroup(name)
		}
		if err == nil && g.unstopped() {
			err = fault(CodeStillRunning, "")
		}
		if err == nil {
			c.removeGroup(g)
		}
		reply <- res[struct{}]{err: err}
	})
	return err
}

// Groups returns the active group configs in (priority, name) order, for
// getAllConfigInfo's "inuse" and avail.
func (s *Supervisor) Groups(ctx context.Context) ([]*config.Group, error) {
	return call(s, ctx, func(c *core, _ *waiter, reply chan<- res[[]*config.Group]) {
		out := make([]*config.Group, len(c.order))
		for i, g := range c.order {
			out[i] = g.cfg
		}
		reply <- res[[]*config.Group]{v: out}
	})
}
