package rpc

import (
	"errors"
	"fmt"
)

// Rebind makes the listeners those of cfgs, as supervisord 4.2.5 builds
// its HTTP servers anew from the re-read config at every restart
// (supervisorctl reload): a listener whose config is unchanged keeps
// serving, with its connections; a changed or removed one closes (its unix
// socket file goes); a new or changed one binds. A listener that cannot
// bind is left out and its error returned; the others apply. It returns
// the sections bound anew.
func (s *Server) Rebind(cfgs []ListenerConfig) (bound []string, err error) {
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		return nil, errors.New("rpc: Rebind on a closed Server")
	default:
	}
	old := s.listeners
	keep := make([]bool, len(old))
	var todo []ListenerConfig
	for _, c := range cfgs {
		found := false
		for i, l := range old {
			if !keep[i] && l.cfg.same(c) {
				keep[i], found = true, true
				break
			}
		}
		if !found {
			todo = append(todo, c)
		}
	}
	var kept, gone []*listener
	for i, l := range old {
		if keep[i] {
			kept = append(kept, l)
		} else {
			gone = append(gone, l)
		}
	}
	s.listeners = kept
	s.mu.Unlock()
	// Closed first: a changed listener may keep its path or port. Drained,
	// not cut: the restart's own reply may still be on its way out.
	for _, l := range gone {
		l.stop(true)
	}
	var errs []error
	for _, c := range todo {
		l, err := s.bind(c)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.mu.Lock()
		select {
		case <-s.done: // closed meanwhile (the daemon exits)
			s.mu.Unlock()
			l.close()
			return bound, errors.Join(errs...)
		default:
		}
		s.serveLocked(l)
		s.mu.Unlock()
		bound = append(bound, fmt.Sprintf("[%s] on %s", c.Section, l.ln.Addr()))
	}
	return bound, errors.Join(errs...)
}

// same reports whether c and o configure the same listener.
func (c ListenerConfig) same(o ListenerConfig) bool {
	if (c.TLS == nil) != (o.TLS == nil) || (c.TLS != nil && *c.TLS != *o.TLS) {
		return false
	}
	c.TLS, o.TLS = nil, nil
	return c == o
}
