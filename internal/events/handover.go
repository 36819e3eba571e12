package events

import (
	"context"
	"fmt"
	"io"
	"sort"
)

// Snapshot is the dispatcher's state that an in-place upgrade hands to the
// next image: the serials, every pool's buffered events, each listener's
// protocol state (with what it half wrote and the event it is busy with)
// and the tick timeslices. With it the next image goes on where this one
// stopped: no event is lost or sent twice, serials continue, and a
// listener's RESULT for an event this image sent is read by the next.
type Snapshot struct {
	Serial    int64            `json:"serial"`
	Pools     []HandedPool     `json:"pools,omitempty"`
	Listeners []HandedListener `json:"listeners,omitempty"`
	Ticks     []HandedTick     `json:"ticks,omitempty"`
}

// HandedPool is one pool's serial and buffered events.
type HandedPool struct {
	Name   string        `json:"name"`
	Serial int64         `json:"serial"`
	Buf    []HandedEvent `json:"buf,omitempty"`
}

// HandedEvent is an event accepted by a pool, with its serials.
type HandedEvent struct {
	Name       string `json:"name"`
	Payload    string `json:"payload"`
	Serial     int64  `json:"serial"`
	PoolSerial int64  `json:"poolSerial"`
}

// HandedListener is one listener process's protocol state.
type HandedListener struct {
	Group   string       `json:"group"`
	Name    string       `json:"name"`
	Pid     int          `json:"pid"`
	Running bool         `json:"running"` // its last RUNNING event named this pid
	State   uint8        `json:"state"`   // a ListenerState value
	Pending []byte       `json:"pending,omitempty"`
	HaveLen bool         `json:"haveLen,omitempty"`
	Len     int          `json:"len,omitempty"`
	Result  []byte       `json:"result,omitempty"`
	Held    *HandedEvent `json:"held,omitempty"`
}

// HandedTick is the last timeslice seen for a tick period.
type HandedTick struct {
	Period int64 `json:"period"`
	Last   int64 `json:"last"`
}

// Freeze stops sending events, waits (until ctx ends) for the events
// already being written to listeners' stdin, and returns the state for
// the next image. Until Thaw nothing more is sent; output and supervisor
// events are still taken. It fails if a write does not finish: a listener
// that does not read its event cannot be handed over mid-event.
func (d *Dispatcher) Freeze(ctx context.Context) (Snapshot, error) {
	written := make(chan struct{})
	if !d.call(ctx, func(s *state) {
		d.takeQueue(s)
		s.frozen = true
		if s.writing == 0 {
			close(written)
		} else {
			s.writesDone = append(s.writesDone, written)
		}
	}) {
		return Snapshot{}, fmt.Errorf("event dispatcher: %w", ctx.Err())
	}
	select {
	case <-written:
	case <-ctx.Done():
		d.Thaw()
		return Snapshot{}, fmt.Errorf("an event listener does not read the event sent to it: %w", ctx.Err())
	}
	var snap Snapshot
	if !d.call(ctx, func(s *state) { d.takeQueue(s); snap = s.snapshot() }) {
		d.Thaw()
		return Snapshot{}, fmt.Errorf("event dispatcher: %w", ctx.Err())
	}
	return snap, nil
}

// Thaw undoes Freeze (the upgrade did not happen): sending resumes.
func (d *Dispatcher) Thaw() { d.send(func(s *state) { s.frozen = false }) }

// Adopted says that listener process name of group, handed over by the
// previous image as pid, now writes to stdin here: it resumes in the
// protocol state the Snapshot given to New recorded (ACKNOWLEDGED if it
// recorded none). Call it before its output is read.
func (d *Dispatcher) Adopted(group, name string, pid int, stdin io.Writer) {
	d.send(func(s *state) { s.adopted(group, name, pid, stdin) })
}

// call runs fn on the owner goroutine and waits for it; false if ctx ended
// or Run returned first.
func (d *Dispatcher) call(ctx context.Context, fn func(*state)) bool {
	ran := make(chan struct{})
	select {
	case d.inbox <- func(s *state) { fn(s); close(ran) }:
	case <-d.done:
		return false
	case <-ctx.Done():
		return false
	}
	select {
	case <-ran:
		return true
	case <-d.done:
		return false
	}
}

// written says that one event write to a listener's stdin returned.
func (s *state) written() {
	s.writing--
	if s.writing > 0 {
		return
	}
	for _, c := range s.writesDone {
		close(c)
	}
	s.writesDone = nil
}

func (s *state) snapshot() Snapshot {
	snap := Snapshot{Serial: s.serial}
	for name, p := range s.pools {
		ps := HandedPool{Name: name, Serial: p.serial}
		for _, q := range p.buf {
			ps.Buf = append(ps.Buf, q.state())
		}
		snap.Pools = append(snap.Pools, ps)
	}
	for k, l := range s.listeners {
		if s.byPid[l.pid] != l {
			continue // exited: nothing to resume
		}
		ls := HandedListener{Group: l.group, Name: l.name, Pid: l.pid, Running: s.runningPid[k] == l.pid,
			State: uint8(l.proto.State), Pending: l.proto.buf, HaveLen: l.proto.haveLen, Len: l.proto.resultLen,
			Result: l.proto.result}
		if l.held != nil {
			q := l.held.state()
			ls.Held = &q
		}
		snap.Listeners = append(snap.Listeners, ls)
	}
	for period, last := range s.ticks {
		snap.Ticks = append(snap.Ticks, HandedTick{period, last})
	}
	sort.Slice(snap.Pools, func(i, j int) bool { return snap.Pools[i].Name < snap.Pools[j].Name })
	sort.Slice(snap.Listeners, func(i, j int) bool { return snap.Listeners[i].Pid < snap.Listeners[j].Pid })
	sort.Slice(snap.Ticks, func(i, j int) bool { return snap.Ticks[i].Period < snap.Ticks[j].Period })
	return snap
}

func (q *queued) state() HandedEvent {
	return HandedEvent{Name: q.ev.Name, Payload: q.ev.Payload, Serial: q.serial, PoolSerial: q.poolSerial}
}

func (q HandedEvent) queued() *queued {
	return &queued{ev: Event{Name: q.Name, Payload: q.Payload}, serial: q.Serial, poolSerial: q.PoolSerial}
}

// restore starts s from snap: the serial and ticks at once, each pool when
// its group is added, each listener when it is adopted.
func (s *state) restore(snap *Snapshot) {
	s.serial = snap.Serial
	for _, t := range snap.Ticks {
		s.ticks[t.Period] = t.Last
	}
	s.handedPools = map[string]HandedPool{}
	for _, p := range snap.Pools {
		s.handedPools[p.Name] = p
	}
	s.handedListeners = map[string]HandedListener{}
	for _, l := range snap.Listeners {
		s.handedListeners[key(l.Group, l.Name)] = l
		if l.Running {
			s.runningPid[key(l.Group, l.Name)] = l.Pid
		}
	}
}

// poolAdded gives a new pool the buffer and serial the previous image
// handed over for it, once.
func (s *state) poolAdded(p *pool) {
	hp, ok := s.handedPools[p.cfg.Name]
	if !ok {
		return
	}
	delete(s.handedPools, p.cfg.Name)
	p.serial = hp.Serial
	for _, q := range hp.Buf {
		s.accept(p, q.queued(), false)
	}
}

func (s *state) adopted(group, name string, pid int, stdin io.Writer) {
	s.spawned(group, name, pid, stdin)
	k := key(group, name)
	hl, ok := s.handedListeners[k]
	if !ok || hl.Pid != pid {
		return
	}
	delete(s.handedListeners, k)
	l := s.listeners[k]
	l.proto.State = ListenerState(hl.State)
	l.proto.buf, l.proto.haveLen, l.proto.resultLen, l.proto.result = hl.Pending, hl.HaveLen, hl.Len, hl.Result
	if hl.Held != nil {
		l.held = hl.Held.queued()
	}
}
