package supervisor

// State is a process state with supervisord's numeric codes, defined here
// once for the supervisor, the RPC layer and the client.
type State int

// Process states (supervisor.states.ProcessStates).
const (
	Stopped  State = 0
	Starting State = 10
	Running  State = 20
	Backoff  State = 30
	Stopping State = 40
	Exited   State = 100
	Fatal    State = 200
	Unknown  State = 1000
)

// String returns supervisord's state name ("RUNNING"); "UNKNOWN" for
// Unknown and any code supervisord does not define.
func (s State) String() string {
	switch s {
	case Stopped:
		return "STOPPED"
	case Starting:
		return "STARTING"
	case Running:
		return "RUNNING"
	case Backoff:
		return "BACKOFF"
	case Stopping:
		return "STOPPING"
	case Exited:
		return "EXITED"
	case Fatal:
		return "FATAL"
	}
	return "UNKNOWN"
}

// IsStopped reports whether s is one of supervisord's STOPPED_STATES
// (STOPPED, EXITED, FATAL, UNKNOWN).
func (s State) IsStopped() bool {
	return s == Stopped || s == Exited || s == Fatal || s == Unknown
}

// IsRunning reports whether s is one of RUNNING_STATES (STARTING, RUNNING,
// BACKOFF): the states in which start is refused and stop is accepted.
func (s State) IsRunning() bool { return s == Starting || s == Running || s == Backoff }

// IsSignallable reports whether s is one of SIGNALLABLE_STATES (STARTING,
// RUNNING, STOPPING).
func (s State) IsSignallable() bool { return s == Starting || s == Running || s == Stopping }

// SupervisorState is the daemon's own state with supervisord's codes.
type SupervisorState int

// Supervisor states (supervisor.states.SupervisorStates).
const (
	StateFatal      SupervisorState = 2
	StateRunning    SupervisorState = 1
	StateRestarting SupervisorState = 0
	StateShutdown   SupervisorState = -1
)

// String returns supervisord's name for the state, "UNKNOWN" for a code
// it does not define.
func (s SupervisorState) String() string {
	switch s {
	case StateFatal:
		return "FATAL"
	case StateRunning:
		return "RUNNING"
	case StateRestarting:
		return "RESTARTING"
	case StateShutdown:
		return "SHUTDOWN"
	}
	return "UNKNOWN"
}
