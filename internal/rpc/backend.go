package rpc

import (
	"github.com/drover-sh/drover/internal/supervisor"

	"context"
	"syscall"
	"time"
)

// Backend is what the API needs from the daemon core. Every method that
// changes or reads process state takes a context that is cancelled when
// the HTTP client goes away; a Backend must then stop waiting and return.
//
// Errors: return a *supervisor.Fault (or an error wrapping one) to choose
// the fault; supervisord's faults per method are listed below. Any other error
// becomes FAILED with its text.
//
// Names: a process name argument is "proc" (the group of the same name)
// or "group:proc". The forms "group:*" and "group:" never reach the
// process methods: the API delegates them to the group methods itself.
// The detail of BAD_NAME etc. should be the name exactly as passed.
type Backend interface {
	// Identification is [supervisord] identifier.
	Identification() string
	// PID is the daemon's process id.
	PID() int
	// State is the daemon state; while it is StateShutdown or
	// StateRestarting every supervisor.* call except sendRemoteCommEvent
	// fails SHUTDOWN_STATE without reaching the Backend.
	State() supervisor.SupervisorState
	// MainLogPath is the main log file, or "" when there is none (syslog).
	MainLogPath() string

	// ClearMainLog deletes and reopens the main log. NO_FILE, FAILED.
	ClearMainLog(ctx context.Context) error
	// Shutdown and Restart only start the work and return at once.
	Shutdown(ctx context.Context) error
	Restart(ctx context.Context) error
	// ReloadConfig rereads the config (without applying it) and returns
	// group names. CANT_REREAD with the parse error as detail.
	ReloadConfig(ctx context.Context) (supervisor.UpdateResult, error)
	// Update (drover.update) rereads the config and applies it to the
	// groups named (all when none) like supervisor.Update: CANT_REREAD,
	// BAD_NAME, SHUTDOWN_STATE.
	Update(ctx context.Context, names []string) (supervisor.UpdateResult, error)
	// AddProcessGroup: ALREADY_ADDED, BAD_NAME (not in the last-read config).
	AddProcessGroup(ctx context.Context, name string) error
	// RemoveProcessGroup: BAD_NAME, STILL_RUNNING.
	RemoveProcessGroup(ctx context.Context, name string) error

	// StartProcess: BAD_NAME, NO_FILE, NOT_EXECUTABLE, ALREADY_STARTED,
	// FAILED, SPAWN_ERROR, ABNORMAL_TERMINATION. With wait it returns
	// when the process is RUNNING (or failed).
	StartProcess(ctx context.Context, name string, wait bool) error
	// StartProcessGroup starts the group's processes that are not running,
	// in priority order; BAD_NAME for an unknown group.
	StartProcessGroup(ctx context.Context, group string, wait bool) ([]supervisor.Result, error)
	StartAllProcesses(ctx context.Context, wait bool) ([]supervisor.Result, error)
	// StopProcess: BAD_NAME, NOT_RUNNING, FAILED. With wait it returns
	// when the process is in a stopped state.
	StopProcess(ctx context.Context, name string, wait bool) error
	StopProcessGroup(ctx context.Context, group string, wait bool) ([]supervisor.Result, error)
	StopAllProcesses(ctx context.Context, wait bool) ([]supervisor.Result, error)
	// SignalProcess: BAD_NAME, NOT_RUNNING (not STARTING, RUNNING or
	// STOPPING), FAILED. The signal was validated by the API.
	SignalProcess(ctx context.Context, name string, sig syscall.Signal) error
	// SignalProcessGroup and SignalAllProcesses skip processes that are
	// not signallable.
	SignalProcessGroup(ctx context.Context, group string, sig syscall.Signal) ([]supervisor.Result, error)
	SignalAllProcesses(ctx context.Context, sig syscall.Signal) ([]supervisor.Result, error)

	// ProcessInfo: BAD_NAME.
	ProcessInfo(ctx context.Context, name string) (ProcessInfo, error)
	// AllProcessInfo returns every process; the API sorts the result.
	AllProcessInfo(ctx context.Context) ([]ProcessInfo, error)
	// AllConfigInfo returns every process of the last-read config,
	// including groups not in use.
	AllConfigInfo(ctx context.Context) ([]ConfigInfo, error)

	// ClearProcessLogs removes and reopens both logs: BAD_NAME, FAILED.
	ClearProcessLogs(ctx context.Context, name string) error
	ClearAllProcessLogs(ctx context.Context) ([]supervisor.Result, error)
	// SendProcessStdin: BAD_NAME, NOT_RUNNING (no pid or being killed),
	// NO_FILE (stdin closed, EPIPE).
	SendProcessStdin(ctx context.Context, name string, data []byte) error
	// SendRemoteCommEvent emits REMOTE_COMMUNICATION; it works during
	// shutdown too.
	SendRemoteCommEvent(ctx context.Context, typ, data string) error

	// ReloadProcess (drover.reloadProcess) reloads one process by its
	// reload strategy and returns when the reload is done: BAD_NAME,
	// NOT_RUNNING, FAILED (already reloading, strategy not available, no
	// successor, not ready in time, exited during the reload),
	// SPAWN_ERROR, ABNORMAL_TERMINATION.
	ReloadProcess(ctx context.Context, name string) error
	// ReloadProcessGroup and ReloadAllProcesses reload running processes
	// batch at a time (one when below 1) and stop after the first batch
	// with a failure (the rest are FAILED "not reloaded"). BAD_NAME for an
	// unknown group.
	ReloadProcessGroup(ctx context.Context, group string, batch int) ([]supervisor.Result, error)
	ReloadAllProcesses(ctx context.Context, batch int) ([]supervisor.Result, error)
}

// ProcessInfo is a snapshot of one process. The API derives statename,
// now, logfile and description from it.
type ProcessInfo struct {
	Name  string
	Group string
	// Start and Stop are the last start and stop times; zero if never.
	Start time.Time
	Stop  time.Time
	State supervisor.State
	// SpawnErr is the last spawn error, or "".
	SpawnErr   string
	ExitStatus int
	// StdoutLogfile and StderrLogfile are paths, or "" for none.
	StdoutLogfile string
	StderrLogfile string
	// PID is 0 when the process is not running.
	PID int

	// drover's own fields, only in drover.getProcessInfo: the spawn
	// generation (kept across followed re-execs), the re-execs followed and
	// the pid before the last one, the other generation's pid during a
	// hand-off, and the strategy of a reload under way ("" when none).
	Generation uint64
	Reexecs    int
	PrevPID    int
	HandoffPID int
	Reloading  string
	// Pending says why the process still runs its previous config after
	// an update ("" when none): also in the description while RUNNING.
	Pending string
	// Waiting says which depends_on holds the process's start ("" when
	// none): also in the description while STOPPED.
	Waiting string
	// Strategy is the configured reload strategy.
	Strategy string
}

// ResultOf builds the Result for one process from the error of its
// operation (nil means Success), as supervisord's make_allfunc does.
func ResultOf(name, group string, err error) supervisor.Result {
	if err == nil {
		return supervisor.Result{Name: name, Group: group, Status: supervisor.CodeSuccess, Description: "OK"}
	}
	f := ToFault(err)
	return supervisor.Result{Name: name, Group: group, Status: f.Code, Description: f.Error()}
}

// ConfigInfo is one process of the last-read config, for getAllConfigInfo.
// Strings are sent as they are, except that "" becomes "none"; a Backend
// passes "auto" for AUTO log files not yet created.
type ConfigInfo struct {
	Name        string
	Group       string
	GroupPrio   int
	ProcessPrio int
	// InUse: the group is active (added), not only configured.
	InUse          bool
	Autostart      bool
	Command        string
	Directory      string
	UID            int // -1 for none
	ExitCodes      []int
	KillAsGroup    bool
	RedirectStderr bool
	ServerURL      string
	StartRetries   int
	StartSecs      int
	StopSignal     int
	StopWaitSecs   int
	Stdout, Stderr LogConfig
}

// LogConfig is the per-channel part of ConfigInfo.
type LogConfig struct {
	CaptureMaxBytes int64
	EventsEnabled   bool
	Logfile         string
	LogfileBackups  int
	LogfileMaxBytes int64
	Syslog          bool
}
