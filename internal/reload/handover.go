package reload

import (
	"errors"
	"fmt"
	"net/netip"
	"os"

	"github.com/drover-sh/drover/internal/config"
	"golang.org/x/sys/unix"
)

// Handed is one socket of a Set as an in-place upgrade hands it to the next
// image of drover: the fd survives execve, the rest is its description.
type Handed struct {
	Spec config.Socket `json:"-"`
	// SpecText is Spec as written in sockets= (config.ParseSocket reads it
	// back).
	SpecText string `json:"spec"`
	Addr     string `json:"addr"`
	FD       int    `json:"fd"`
	Dev      uint64 `json:"dev,omitempty"`
	Ino      uint64 `json:"ino,omitempty"`
}

// ErrNotHandable: the Set is closed, refused, or shares a socket with a
// Sibling (a hand-off in flight), which an upgrade does not carry over.
var ErrNotHandable = errors.New("socket set cannot be handed over now")

// Export describes the Set's sockets for a handover, with the daemon's own
// fds (still close-on-exec: the caller clears that on exactly these just
// before execve). The Set stays usable.
func (s *Set) Export() ([]Handed, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.refused {
		return nil, 0, ErrNotHandable
	}
	out := make([]Handed, 0, len(s.socks))
	for _, b := range s.socks {
		if b.f == nil || (b.refs != nil && b.refs.Load() > 1) {
			return nil, 0, ErrNotHandable
		}
		out = append(out, Handed{Spec: b.spec, SpecText: b.spec.String(), Addr: b.addr, FD: int(b.f.Fd()), Dev: b.dev, Ino: b.ino})
	}
	return out, s.backlog, nil
}

// Adopt rebuilds a Set from a handover's sockets (Spec parsed back): the
// fds become the Set's and close-on-exec again. o is what Reopen and
// Sibling bind with.
func Adopt(hs []Handed, o SocketOptions) (*Set, error) {
	if o.Backlog == 0 {
		o.Backlog = config.DefaultBacklog
	}
	if o.Mode == 0 {
		o.Mode = config.DefaultSocketMode
	}
	set := &Set{backlog: o.Backlog, opts: o}
	for _, h := range hs {
		if _, err := unix.FcntlInt(uintptr(h.FD), unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
			_ = set.Close()
			return nil, fmt.Errorf("adopt socket %s (fd %d): %w", h.SpecText, h.FD, err)
		}
		b := &boundSocket{spec: h.Spec, addr: h.Addr, f: os.NewFile(uintptr(h.FD), h.Spec.String()), dev: h.Dev, ino: h.Ino, refs: oneRef()}
		if h.Spec.Network == config.TCP {
			if ap, err := netip.ParseAddrPort(h.Addr); err == nil {
				b.ap = ap
			}
		}
		set.socks = append(set.socks, b)
	}
	return set, nil
}
