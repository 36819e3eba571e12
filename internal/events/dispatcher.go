package events

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/supervisor"
)

// Options configure a Dispatcher.
type Options struct {
	// Identifier is [supervisord] identifier, the header's server field.
	Identifier string
	Log        *slog.Logger
	// Now is the clock for ticks; time.Now when nil.
	Now func() time.Time
	// Restore is what the previous image's Freeze returned, after an
	// in-place upgrade; nil otherwise.
	Restore *Snapshot
}

// Dispatcher owns the listener pools. Create it with New, start Run, feed
// it the supervisor's events through Observe, and tell it about listener
// spawns, output and exits with the methods below, from any goroutine.
type Dispatcher struct {
	opt   Options
	inbox chan func(*state)
	stop  chan struct{} // closed by Close
	done  chan struct{} // closed when Run returns

	// The supervisor's events, queued by Observe: unbounded, so the owner
	// goroutine never blocks and no event is lost, and nothing is reserved
	// while the daemon is quiet.
	qmu   sync.Mutex
	queue []supervisor.Event
	wake  chan struct{} // 1-buffered: "the queue is not empty"
	// poolNames are the listener pools Observe has seen added (Observe's
	// own, so no lock); anyPool says whether there is one, for Wanted.
	poolNames map[string]bool
	anyPool   atomic.Bool
}

// Wanted reports whether some listener pool exists, so that callers on hot
// paths (a PROCESS_LOG event per pipe read) build no event nobody reads.
func (d *Dispatcher) Wanted() bool { return d.anyPool.Load() }

// New returns a Dispatcher; nothing runs until Run.
func New(opt Options) *Dispatcher {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Dispatcher{opt: opt, inbox: make(chan func(*state), 256), stop: make(chan struct{}),
		done: make(chan struct{}), wake: make(chan struct{}, 1), poolNames: map[string]bool{}}
}

// send runs fn on the owner goroutine; once Run has returned it is dropped.
func (d *Dispatcher) send(fn func(*state)) {
	select {
	case d.inbox <- fn:
	case <-d.done:
	}
}

// Spawned says that process name of group (a listener) now runs as pid,
// with stdin where its events go (written on a goroutine of its own, which
// may block): it starts ACKNOWLEDGED. Call it before its output is read.
func (d *Dispatcher) Spawned(group, name string, pid int, stdin io.Writer) {
	d.send(func(s *state) { s.spawned(group, name, pid, stdin) })
}

// Output hands over what listener pid wrote on stdout (data is copied).
func (d *Dispatcher) Output(pid int, data []byte) {
	b := append([]byte(nil), data...)
	d.send(func(s *state) { s.output(pid, b) })
}

// Exited says that pid was reaped; an event it held goes back to its pool.
func (d *Dispatcher) Exited(pid int) { d.send(func(s *state) { s.exited(pid) }) }

// Publish offers ev to every pool subscribed to its type.
func (d *Dispatcher) Publish(ev Event) { d.send(func(s *state) { s.publish(ev) }) }

// Observe queues a supervisor event (supervisor.Observe's callback, called
// by one goroutine at a time): it never blocks. While no listener pool
// exists nothing is queued, as nobody could receive it: a daemon without
// listeners pays no wake-up of this goroutine per state change.
func (d *Dispatcher) Observe(e supervisor.Event) {
	switch {
	case e.Kind == supervisor.EventGroupAdded && e.Config != nil && e.Config.Kind == config.KindEventListener:
		d.poolNames[e.Group] = true
	case e.Kind == supervisor.EventGroupRemoved && d.poolNames[e.Group]:
		delete(d.poolNames, e.Group) // queued below: the pool must go
	case len(d.poolNames) == 0:
		return
	}
	d.anyPool.Store(len(d.poolNames) > 0)
	d.qmu.Lock()
	d.queue = append(d.queue, e)
	d.qmu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Close ends Run and waits for it; later messages are dropped.
func (d *Dispatcher) Close() {
	select {
	case <-d.stop:
	default:
		close(d.stop)
	}
	<-d.done
}

// DrainPool calls done (on the dispatcher's goroutine) once pool name has
// no buffered event and none of its listeners holds one, or at once if
// there is no such pool. The supervisor events queued before the call are
// taken into account. After Close, done is never called.
func (d *Dispatcher) DrainPool(name string, done func()) {
	d.send(func(s *state) {
		d.takeQueue(s)
		s.drains = append(s.drains, drain{name, done})
	})
}

// takeQueue applies the supervisor events queued so far.
func (d *Dispatcher) takeQueue(s *state) {
	d.qmu.Lock()
	batch := d.queue
	d.queue = s.spare[:0]
	d.qmu.Unlock()
	for i, e := range batch {
		s.supervisorEvent(e)
		batch[i] = supervisor.Event{} // drop the config pointers
	}
	s.spare = batch
}

// Run owns the pools until Close.
func (d *Dispatcher) Run() {
	defer close(d.done)
	log := d.opt.Log
	var s *state
	s = newState(&d.opt, func(l *listener, msg []byte, serial int64) {
		pid, w := l.pid, l.stdin
		s.writing++
		go func() {
			// A listener that died meanwhile gets its event re-buffered
			// when it is reaped; a write error says nothing more.
			if _, err := w.Write(msg); err != nil {
				log.Debug(fmt.Sprintf("could not send event %d to listener pid %d: %v", serial, pid, err))
			}
			d.send((*state).written)
		}()
	})
	if d.opt.Restore != nil {
		s.restore(d.opt.Restore)
	}
	tick := time.NewTimer(time.Hour)
	tick.Stop()
	for {
		select {
		case <-d.stop:
			tick.Stop()
			return
		case <-d.wake:
			d.takeQueue(s)
		case fn := <-d.inbox:
			fn(s)
		case <-tick.C:
			s.tick()
		}
		s.dispatch()
		s.checkDrains()
		if s.ticksChanged {
			s.ticksChanged = false
			tick.Stop()
			if wait, ok := s.nextTick(); ok {
				tick.Reset(wait)
			}
		}
	}
}

// state is everything the owner goroutine keeps.
type state struct {
	opt *Options
	// send writes an event to a listener's stdin without blocking.
	send      func(l *listener, msg []byte, serial int64)
	pools     map[string]*pool     // by group name
	listeners map[string]*listener // by "group:name"
	byPid     map[int]*listener
	// runningPid is the pid a process's last RUNNING event named, by
	// "group:name". It is kept apart from the listener because the
	// supervisor's events and Spawned travel on different channels.
	runningPid map[string]int
	serial     int64 // global serial; the first event gets 0
	// ticks is the last timeslice seen per tick period a pool wants.
	ticks        map[int64]int64
	ticksChanged bool
	drains       []drain
	spare        []supervisor.Event // the queue's other buffer
	// frozen: an upgrade is handing the state over; nothing is sent.
	frozen bool
	// writing counts the events being written to listeners' stdin;
	// writesDone are closed when it is back at 0 (Freeze waits on one).
	writing    int
	writesDone []chan struct{}
	// What the previous image handed over (handover.go), until taken.
	handedPools     map[string]HandedPool
	handedListeners map[string]HandedListener
}

// drain is a DrainPool waiting for its pool to empty.
type drain struct {
	pool string
	done func()
}

// checkDrains calls back the drains whose pool has nothing left to deliver.
func (s *state) checkDrains() {
	keep := s.drains[:0]
	for _, dr := range s.drains {
		if s.poolBusy(dr.pool) {
			keep = append(keep, dr)
			continue
		}
		dr.done()
	}
	clear(s.drains[len(keep):])
	s.drains = keep
}

// poolBusy reports whether pool name exists and has an event buffered or
// held by one of its listeners.
func (s *state) poolBusy(name string) bool {
	p := s.pools[name]
	if p == nil {
		return false
	}
	if len(p.buf) > 0 {
		return true
	}
	for _, l := range s.listeners {
		if l.group == name && l.held != nil {
			return true
		}
	}
	return false
}

func newState(opt *Options, send func(l *listener, msg []byte, serial int64)) *state {
	return &state{opt: opt, send: send, pools: map[string]*pool{}, listeners: map[string]*listener{},
		byPid: map[int]*listener{}, runningPid: map[string]int{}, ticks: map[int64]int64{}, serial: -1}
}

type pool struct {
	cfg    *config.Group
	serial int64
	buf    []*queued
}

// queued is an event accepted by a pool, with its serials.
type queued struct {
	ev         Event
	serial     int64
	poolSerial int64
}

type listener struct {
	group, name string
	pid         int
	stdin       io.Writer
	proto       Protocol
	held        *queued // the event it is BUSY with
}

func key(group, name string) string { return group + ":" + name }

func (s *state) supervisorEvent(e supervisor.Event) {
	switch e.Kind {
	case supervisor.EventGroupAdded:
		if g := e.Config; g != nil && g.Kind == config.KindEventListener {
			p := &pool{cfg: g, serial: -1}
			s.pools[g.Name] = p
			s.poolAdded(p)
			s.ticksChanged = true
		}
	case supervisor.EventGroupRemoved:
		if _, ok := s.pools[e.Group]; ok {
			delete(s.pools, e.Group)
			s.ticksChanged = true
		}
	case supervisor.EventProcessState:
		k := key(e.Group, e.Name)
		if e.To == supervisor.Running {
			s.runningPid[k] = e.Pid
		} else if s.runningPid[k] == e.Pid || e.Pid == 0 {
			delete(s.runningPid, k)
		}
	}
	if ev, ok := FromSupervisor(e); ok {
		s.publish(ev)
	}
}

func (s *state) spawned(group, name string, pid int, stdin io.Writer) {
	k := key(group, name)
	if old := s.listeners[k]; old != nil {
		s.release(old)
		delete(s.byPid, old.pid)
	}
	l := &listener{group: group, name: name, pid: pid, stdin: stdin}
	s.listeners[k] = l
	s.byPid[pid] = l
}

func (s *state) exited(pid int) {
	l := s.byPid[pid]
	if l == nil {
		return
	}
	delete(s.byPid, pid)
	s.release(l)
	l.proto.State = Unknown
}

// release puts the event l holds back at the head of its pool.
func (s *state) release(l *listener) {
	if q := l.held; q != nil {
		l.held = nil
		if p := s.pools[l.group]; p != nil {
			s.accept(p, q, true)
		}
	}
}

func (s *state) output(pid int, data []byte) {
	l := s.byPid[pid]
	if l == nil {
		return // a listener's last output, read after it was reaped
	}
	before := l.proto.State
	l.proto.Feed(data, func(o Outcome) {
		switch o {
		case Processed:
			s.debug(fmt.Sprintf("%s: event was processed", l.name))
			l.held = nil
		case Rejected:
			s.opt.Log.Warn(fmt.Sprintf("%s: event was rejected", l.name))
			s.release(l)
		case Broken:
			if l.proto.BadLine != nil && before == Busy {
				s.opt.Log.Warn(fmt.Sprintf("%s: bad result line: '%s'", l.name, l.proto.BadLine))
			}
			s.release(l)
		}
	})
	if after := l.proto.State; after != before {
		s.debug(fmt.Sprintf("%s: %s -> %s", l.name, before, after))
	}
}

// publish offers ev to every subscribed pool; the global serial is taken
// only if one accepts it.
func (s *state) publish(ev Event) {
	var q *queued
	for _, p := range s.pools {
		if !Subscribed(p.cfg.Events, ev.Name) {
			continue
		}
		if q == nil {
			s.serial++
			q = &queued{ev: ev, serial: s.serial}
		}
		p.serial++
		s.accept(p, &queued{ev: ev, serial: q.serial, poolSerial: p.serial}, false)
	}
}

// accept buffers q in p, dropping the oldest event when the buffer is full.
func (s *state) accept(p *pool, q *queued, head bool) {
	if len(p.buf) >= max(p.cfg.BufferSize, 1) {
		old := p.buf[0]
		p.buf = p.buf[1:]
		s.opt.Log.Error(fmt.Sprintf("pool %s event buffer overflowed, discarding event %d", p.cfg.Name, old.serial))
	}
	if head {
		p.buf = append([]*queued{q}, p.buf...)
	} else {
		p.buf = append(p.buf, q)
	}
}

// dispatch sends buffered events to listeners that are RUNNING and READY,
// the first such process of the pool first, oldest event first.
func (s *state) dispatch() {
	if s.frozen {
		return
	}
	for _, p := range s.pools {
		for len(p.buf) > 0 {
			l := s.readyListener(p)
			if l == nil {
				break
			}
			q := p.buf[0]
			p.buf = p.buf[1:]
			l.held = q
			l.proto.Sent()
			s.send(l, s.envelope(p, q), q.serial)
			s.debug(fmt.Sprintf("event %d sent to listener %s", q.serial, l.name))
		}
	}
}

func (s *state) readyListener(p *pool) *listener {
	for _, pc := range p.cfg.Processes {
		if l := s.listeners[key(p.cfg.Name, pc.Name)]; l != nil && l.proto.State == Ready && s.runningPid[key(l.group, l.name)] == l.pid {
			return l
		}
	}
	return nil
}

// envelope is the header line and the payload. len counts characters, as
// supervisord's len() of a Python str does.
func (s *state) envelope(p *pool, q *queued) []byte {
	b := make([]byte, 0, 128+len(q.ev.Payload))
	b = append(b, "ver:3.0 server:"...)
	b = append(b, s.opt.Identifier...)
	b = append(b, " serial:"...)
	b = strconv.AppendInt(b, q.serial, 10)
	b = append(b, " pool:"...)
	b = append(b, p.cfg.Name...)
	b = append(b, " poolserial:"...)
	b = strconv.AppendInt(b, q.poolSerial, 10)
	b = append(b, " eventname:"...)
	b = append(b, q.ev.Name...)
	b = append(b, " len:"...)
	b = strconv.AppendInt(b, int64(utf8.RuneCountInString(q.ev.Payload)), 10)
	b = append(b, '\n')
	return append(b, q.ev.Payload...)
}

func (s *state) debug(msg string) { s.opt.Log.Debug(msg) }
