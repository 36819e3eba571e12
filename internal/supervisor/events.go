package supervisor

import (
	"sync"

	"time"

	"github.com/drover-sh/drover/internal/config"
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
	// EventLimit is drover's own: the limit watchdog found a breach that
	// held for its grace window and acts on it (Limit says what).
	EventLimit
	// EventReload is drover's own: one step of a reload (Reload says
	// which), so a watcher sees a hand-off as it happens.
	EventReload
	// EventHealth is drover's own: health= failed health_threshold times
	// in a row and the program is reloaded (Health says more).
	EventHealth
	// EventPidChanged is drover's own: a process's main pid changed with
	// no state change (a spawn's pid is known, after its STARTING; a
	// followed re-exec: Pid is the new one). It has no supervisord event;
	// the daemon's state file follows it.
	EventPidChanged
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
	// Limit is the breach of an EventLimit.
	Limit *LimitBreach
	// Reload is the step of an EventReload.
	Reload *ReloadStep
	// Health is the failure of an EventHealth.
	Health *HealthFailure
}

// ReloadPhase names a step of a reload.
type ReloadPhase string

// Reload steps, in the order a blue/green reload goes through them; the
// other strategies have Started, then Done or Failed.
const (
	// ReloadStarted: the reload began (OldPid serves).
	ReloadStarted ReloadPhase = "STARTED"
	// ReloadSpawned: blue/green's new generation NewPid runs beside OldPid;
	// or reexec's new master NewPid was found (once more, with another
	// pid, when the child found first exits 0 before taking over).
	ReloadSpawned ReloadPhase = "SPAWNED"
	// ReloadReady: NewPid is ready and serves new connections.
	ReloadReady ReloadPhase = "READY"
	// ReloadRetiring: OldPid was asked to stop (after its queue drained).
	ReloadRetiring ReloadPhase = "RETIRING"
	// ReloadRetired: OldPid exited; NewPid alone serves.
	ReloadRetired ReloadPhase = "RETIRED"
	// ReloadDone: the reload succeeded; NewPid serves.
	ReloadDone ReloadPhase = "DONE"
	// ReloadFailed: the reload failed (Error says why).
	ReloadFailed ReloadPhase = "FAILED"
)

// ReloadStep is one step of a reload of the event's process.
type ReloadStep struct {
	Phase    ReloadPhase
	Strategy string
	// OldPid is the generation serving when the reload began; NewPid the
	// one it produced (blue/green's new generation, reexec's successor;
	// 0 while unknown).
	OldPid, NewPid int
	// Error is a failure's text.
	Error string
	// Elapsed is the time since the reload began.
	Elapsed time.Duration
}

// bus hands events to the observer (see Supervisor.Observe). It has its
// own small lock (it is not the process table) so observing can start
// before Run and stop after it returned.
type bus struct {
	mu       sync.Mutex
	observer func(Event)
}

func (b *bus) publish(e Event) {
	b.mu.Lock()
	if b.observer != nil {
		b.observer(e)
	}
	b.mu.Unlock()
}
