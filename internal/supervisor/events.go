package supervisor

import (
	"sync"

	"github.com/drover-sh/drover/internal/config"
	"sync/atomic"
	"time"
)

// EventKind tells what an Event reports.
type EventKind uint8

// Event kinds.
const (
	// EventProcessState is a PROCESS_STATE_<To> event.
	EventProcessState EventKind = iota + 1
	// EventGroupAdded is PROCESS_GROUP_ADDED.
	EventGroupAdded
	// EventGroupRemoved is PROCESS_GROUP_REMOVED.
	EventGroupRemoved
	// EventSupervisorState is SUPERVISOR_STATE_CHANGE_<Supervisor>
	// (RUNNING at startup, SHUTDOWN or RESTARTING when the ordered stop
	// begins: supervisord calls the latter STOPPING).
	EventSupervisorState
)

// Event is one notification from the owner goroutine. The fields carry
// everything supervisord's event payloads need.
type Event struct {
	Kind EventKind
	Time time.Time
	// Group and Name identify the process (Name is empty for group events).
	Group, Name string
	// From and To are the process states of the transition.
	From, To State
	// Pid is the process id at the time of the event: 0 when there is none
	// (e.g. BACKOFF->STOPPED); for EXITED and STOPPED the pid that exited.
	Pid int
	// Tries is the consecutive-failure counter (supervisord's backoff): 0
	// for the first STARTING, up to startretries+1 for BACKOFF.
	Tries int
	// Expected is meaningful for EXITED: the exit status was in exitcodes.
	Expected bool
	// Supervisor is the daemon state for EventSupervisorState.
	Supervisor SupervisorState
	// Config is the added group's config for EventGroupAdded (event
	// listener pools are built from it).
	Config *config.Group
}

// Subscription receives events on C. Delivery never blocks the owner: when
// C's buffer is full the event is dropped and counted in Dropped.
type Subscription struct {
	// C delivers events in order; it is closed by Unsubscribe.
	C       <-chan Event
	c       chan Event
	dropped atomic.Uint64
	bus     *bus
}

// Dropped returns how many events were discarded because C was full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Unsubscribe stops delivery and closes C. It is safe to call more than
// once and from any goroutine.
func (s *Subscription) Unsubscribe() { s.bus.remove(s) }

// bus fans events out to subscribers. It has its own small lock (it is not
// the process table) so subscribing works before Run and after it returned.
type bus struct {
	mu   sync.Mutex
	subs []*Subscription
	// observer sees every event without a buffer of its own (see Observe).
	observer func(Event)
}

func (b *bus) add(buf int) *Subscription {
	if buf < 1 {
		buf = 1
	}
	c := make(chan Event, buf)
	s := &Subscription{C: c, c: c, bus: b}
	b.mu.Lock()
	b.subs = append(b.subs, s)
	b.mu.Unlock()
	return s
}

func (b *bus) remove(s *Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, x := range b.subs {
		if x == s {
			b.subs = append(b.subs[:i], b.subs[i+1:]...)
			close(s.c)
			return
		}
	}
}

func (b *bus) publish(e Event) {
	b.mu.Lock()
	if b.observer != nil {
		b.observer(e)
	}
	for _, s := range b.subs {
		select {
		case s.c <- e:
		default:
			s.dropped.Add(1)
		}
	}
	b.mu.Unlock()
}
