package daemon

import (
	"fmt"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/reload"
	"github.com/drover-sh/drover/internal/supervisor"
)

// Steering a blue/green hand-off (see internal/reload/steer.go). A
// generation of a bluegreen program spawned while a live generation holds
// the serving listeners gets a Sibling: its own TCP listeners, index 1 of
// each SO_REUSEPORT group, which get nothing (Steer(0)) until Promote
// (Steer(1)). When a generation's main pid is reaped, its listeners are
// retired unless they are the serving ones (a respawn inherits those, and
// the connections queued meanwhile) or another live generation holds
// them; retiring the old serving listeners makes the new ones index 0, so
// Steer(0) again.

var _ supervisor.Steerer = (*osHost)(nil)

// liveGen is what a spawned generation inherited, by its main pid.
type liveGen struct {
	o   *owned
	set *reload.Set
}

// listenersFor picks the listeners of p's next generation (h.mu held):
// a Sibling of the serving ones when p is bluegreen and a live generation
// holds them, else the serving ones.
func (h *osHost) listenersFor(p *config.Process, o *owned) *reload.Set {
	set := o.set
	if set == nil || p.Drover.Reload != string(reload.BlueGreen) || o.users[set] == 0 || !set.HasTCP() {
		return set
	}
	// Before the Sibling joins the groups: the serving member gets it all.
	if err := set.Steer(0); err != nil {
		h.log.Warn(fmt.Sprintf("'%s': cannot steer connections (%v): both generations share the listeners", p.Name, err))
		return set
	}
	sib, err := set.Sibling()
	if err != nil {
		h.log.Warn(fmt.Sprintf("'%s': %v: both generations share the listeners", p.Name, err))
		return set
	}
	return sib
}

// dropListeners undoes listenersFor when no child got set.
func (h *osHost) dropListeners(o *owned, set *reload.Set) {
	if set != nil && set != o.set {
		set.Close()
	}
}

// listenersStarted records which listeners generation pid holds, or drops
// a Sibling nobody got (spawn failed, or the child is already gone).
func (h *osHost) listenersStarted(gs *genSetup, pid int, live bool) {
	if gs.o == nil || gs.set == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !live {
		if gs.set != gs.o.set {
			h.retireLocked(gs.o, gs.set, pid)
		}
		return
	}
	if h.gens == nil {
		h.gens = map[int]*liveGen{}
	}
	if gs.o.users == nil {
		gs.o.users = map[*reload.Set]int{}
	}
	h.gens[pid] = &liveGen{o: gs.o, set: gs.set}
	gs.o.users[gs.set]++
}

// listenersExited is called when pid was reaped: its listeners go unless
// they serve or another live generation holds them.
func (h *osHost) listenersExited(pid int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	g := h.gens[pid]
	if g == nil {
		return
	}
	delete(h.gens, pid)
	o := g.o
	if o.users[g.set]--; o.users[g.set] > 0 {
		return
	}
	delete(o.users, g.set)
	if g.set != o.set {
		h.retireLocked(o, g.set, pid)
	}
}

// retireLocked shuts set's listeners and makes the serving ones index 0
// of their groups again (h.mu held).
func (h *osHost) retireLocked(o *owned, set *reload.Set, pid int) {
	n, err := set.Retire()
	if err != nil {
		h.log.Warn(fmt.Sprintf("closing the listeners of pid %d: %v", pid, err))
	}
	h.log.Debug(fmt.Sprintf("closed the listeners of pid %d (%d connections were queued there; kept only with net.ipv4.tcp_migrate_req=1)", pid, n))
	if o.set != nil && o.set.HasTCP() {
		if err := o.set.Steer(0); err != nil {
			h.log.Warn(fmt.Sprintf("steering connections back to index 0: %v", err))
		}
	}
}

// Promote implements supervisor.Steerer: newPid's listeners serve from
// now on. When oldPid's generation is already gone its listeners go now.
func (h *osHost) Promote(p *config.Process, newPid, oldPid int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	g := h.gens[newPid]
	if g == nil || g.set == g.o.set || g.o.set == nil {
		return false
	}
	o, old := g.o, g.o.set
	o.set = g.set
	if o.users[old] == 0 {
		h.retireLocked(o, old, oldPid)
		return false
	}
	if err := old.Steer(1); err != nil {
		h.log.Warn(fmt.Sprintf("'%s': cannot steer connections to pid %d: %v", p.Name, newPid, err))
		return false
	}
	return true
}

// Queued implements supervisor.Steerer: connections waiting in the accept
// queues of pid's listeners when no other generation holds them.
func (h *osHost) Queued(p *config.Process, pid int) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	g := h.gens[pid]
	if g == nil || g.set == g.o.set || g.o.users[g.set] > 1 {
		return 0
	}
	n, err := g.set.Queued()
	if err != nil {
		h.log.Debug(fmt.Sprintf("'%s': accept queue of pid %d: %v", p.Name, pid, err))
	}
	return n
}
