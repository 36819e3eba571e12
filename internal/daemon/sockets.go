package daemon

import (
	"fmt"
	"log/slog"

	"github.com/drover-sh/drover/internal/reload"
)

// Steering a blue/green hand-off (see internal/reload/steer.go). A
// generation spawned beside a live one gets a Sibling: its own TCP
// listeners, index 1 of each SO_REUSEPORT group, which get nothing
// (Steer(0)) until Promote (Steer(1)). When a generation is gone its
// listeners are retired unless they serve (a respawn inherits those, and
// the connections queued meanwhile) or another live generation holds
// them; retiring the old serving listeners makes the new ones index 0, so
// Steer(0) again.

// programSockets is one program's drover-owned sockets (supervisor.Sockets):
// the serving listeners and how many live generations hold each set. The
// supervisor's goroutine is its only user, so it has no lock.
type programSockets struct {
	name    string
	log     *slog.Logger
	serving *reload.Set
	holds   map[*reload.Set]int
	// keeper holds a duplicate of serving under key (crash survival).
	keeper *keeperConn
	key    string
}

func newProgramSockets(name string, set *reload.Set, log *slog.Logger) *programSockets {
	return &programSockets{name: name, log: log, serving: set, holds: map[*reload.Set]int{}}
}

// Listen gives a new generation the serving listeners, or, beside a live
// holder of them, a Sibling that gets no connection until Promote. A
// Sibling that cannot be made (or steered) leaves both generations on the
// shared listeners, as before steering existed.
func (s *programSockets) Listen(beside bool) *reload.Set {
	l := s.serving
	if beside && s.holds[l] > 0 && l.HasTCP() {
		// Before the Sibling joins the groups: the serving member gets it all.
		if err := l.Steer(0); err != nil {
			s.log.Warn(fmt.Sprintf("'%s': cannot steer connections (%v): both generations share the listeners", s.name, err))
		} else if sib, err := l.Sibling(); err != nil {
			s.log.Warn(fmt.Sprintf("'%s': %v: both generations share the listeners", s.name, err))
		} else {
			l = sib
		}
	}
	s.holds[l]++
	return l
}

// Release drops a generation's hold: listeners nobody holds any more go,
// unless they serve.
func (s *programSockets) Release(l *reload.Set) {
	if s.holds[l]--; s.holds[l] > 0 {
		return
	}
	delete(s.holds, l)
	if l != s.serving {
		s.retire(l)
	}
}

// retire shuts l's listeners and makes the serving ones index 0 of their
// groups again.
func (s *programSockets) retire(l *reload.Set) {
	n, err := l.Retire()
	if err != nil {
		s.log.Warn(fmt.Sprintf("'%s': closing the listeners of a generation: %v", s.name, err))
	}
	s.log.Debug(fmt.Sprintf("'%s': closed the listeners of a generation (%d connections were queued there; kept only with net.ipv4.tcp_migrate_req=1)", s.name, n))
	if s.serving.HasTCP() {
		if err := s.serving.Steer(0); err != nil {
			s.log.Warn(fmt.Sprintf("'%s': steering connections back to index 0: %v", s.name, err))
		}
	}
}

// Promote makes l serve: new connections go to it. When nobody holds the
// listeners that served until now they go at once.
func (s *programSockets) Promote(l *reload.Set) bool {
	old := s.serving
	if l == old {
		return false
	}
	s.serving = l
	if s.holds[old] == 0 {
		s.retire(old)
		return false
	}
	if err := old.Steer(1); err != nil {
		s.log.Warn(fmt.Sprintf("'%s': cannot steer connections to the new generation: %v", s.name, err))
		return false
	}
	return true
}

// Queued is how many connections wait in l's accept queues when l is one
// generation's own.
func (s *programSockets) Queued(l *reload.Set) int {
	if l == s.serving || s.holds[l] != 1 {
		return 0
	}
	n, err := l.Queued()
	if err != nil {
		s.log.Debug(fmt.Sprintf("'%s': accept queue: %v", s.name, err))
	}
	return n
}

// Refuse makes the serving listeners refuse connections: the program is
// STOPPED or FATAL, so nobody would accept them.
func (s *programSockets) Refuse() {
	if err := s.serving.Refuse(); err != nil {
		s.log.Warn(fmt.Sprintf("'%s': refusing connections while stopped: %v", s.name, err))
		return
	}
	s.log.Info(fmt.Sprintf("'%s' is not running: its sockets refuse connections until it starts again", s.name))
}

// Reopen makes the serving listeners accept connections again.
func (s *programSockets) Reopen() {
	if err := s.serving.Reopen(); err != nil {
		s.log.Warn(fmt.Sprintf("'%s': listening again: %v", s.name, err))
	}
}

// Close closes every set (the program is gone, or the daemon exits).
func (s *programSockets) Close() {
	for l := range s.holds {
		if l != s.serving {
			l.Close()
		}
	}
	clear(s.holds)
	s.serving.Close()
	s.keeper.drop(s.key)
}
