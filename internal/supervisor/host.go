package supervisor

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"syscall"
	"time"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/reload"
)

// Host is the supervisor's one seam to the operating system: every
// capability the state machine uses is named here, and nothing else is
// looked up. The daemon implements it over internal/spawn, reload and
// logfile; tests use a fake. The supervisor never calls the OS itself, and
// a Host keeps no state per process: what a spawn made comes back as a
// Child, and a program's sockets as Sockets, both owned by the supervisor's
// goroutine from then on.
type Host interface {
	// Resolve checks p's command before a start, like supervisord's
	// get_execv_args, so startProcess can refuse without changing any
	// state: an error wrapping fs.ErrNotExist is NO_FILE, any other
	// NOT_EXECUTABLE. It is called on the requesting goroutine.
	Resolve(p *config.Process) error
	// Logs returns the files p's output goes to, creating its AUTO log
	// files (supervisord names them when a group becomes active, so a
	// group added again gets new ones). It is called on the owner
	// goroutine when p's group becomes active.
	Logs(p *config.Process) (Logs, error)
	// Bind binds p's sockets= for the program's lifetime. It is called on
	// the owner goroutine before the first spawn that needs them, and again
	// after sockets= changed.
	Bind(p *config.Process) (Sockets, error)
	// Spawn starts one generation and blocks until its program exec'd (or
	// failed). It is called on a worker goroutine, never on the owner
	// goroutine, so many programs can be spawned at once. A non-nil err is
	// a spawn error: its message becomes spawnerr. With err, the Child is
	// nil or holds only the pid of a shim that failed before exec (its exit
	// is still due and is ignored).
	Spawn(req SpawnRequest) (Child, error)
	// SpawnConcurrency is how many Spawn calls may run at once, on as many
	// worker goroutines that exist only while spawns are queued (FIFO, so
	// the start order is kept); below 1 every spawn gets its own goroutine.
	SpawnConcurrency() int
	// Signal sends sig to pid, or to the process group pid when group is
	// true. A process that is already gone is reported as an error matching
	// ErrNoProcess (or syscall.ESRCH); the state machine ignores it because
	// the reaper reports the exit.
	Signal(pid int, sig syscall.Signal, group bool) error
	// Successor follows a master that re-exec'd itself (unicorn/gunicorn
	// USR2): drover is a child subreaper, so when an old master exits after
	// forking its successor, the successor is re-parented to drover and
	// keeps the old master's process group. It reports a live process whose
	// parent is drover and whose process group is pgid, preferring the pid
	// in pidfileHint ("" for none) when that pid qualifies. It is called on
	// a worker goroutine after the old master was reaped.
	Successor(pgid int, pidfileHint string) (pid int, ok bool)
	// Children lists pid's live children (nil when none, or pid is gone).
	// It is called on the owner goroutine just before a reload signal (a
	// few reads of /proc), to tell the workers and a re-exec'd master that
	// exist before it from those that come after.
	Children(pid int) []int
	// NewChild waits until parent has a child that is not in before and
	// exec'd (the new master a re-exec forks after the reload signal; a
	// forked copy of the old master is none), preferring the
	// pid in pidfileHint among several, and reports it; false when bound
	// passed (or parent exited) without one. It is called on a worker
	// goroutine and may block for bound.
	NewChild(parent int, before []int, pidfileHint string, bound time.Duration) (pid int, ok bool)
	// WatchExit calls exited once, from another goroutine, when pid (any
	// process, not only drover's child) exited, with its wait status;
	// StatusUnknown when that could not be learned (a kernel before 6.15
	// and a parent that reaped it first). stop ends the watch; exited may
	// still run once after it, so callers check that the watch still
	// matters. An error wrapping ErrNoProcess: pid is gone already.
	WatchExit(pid int, exited func(ws syscall.WaitStatus)) (stop func(), err error)
	// KillTree kills pid and its descendants with SIGKILL (a re-exec'd
	// master that never took over, and its workers); pid's process group
	// too when pid leads it. Called on the owner goroutine.
	KillTree(pid int) error
	// Adopt takes over a live generation that this supervisor did not
	// spawn (a handed-over one, after an in-place upgrade): its output is
	// captured again and its stdin reachable, with no readiness wait. An
	// error means its output cannot be captured: the supervisor kills it
	// and starts it afresh. Called on the owner goroutine at startup.
	Adopt(req AdoptRequest) (Child, error)
	// DrainPool delays the stop of an event listener pool at shutdown and
	// reload until its listeners have taken and answered every event it
	// buffered (so they see SUPERVISOR_STATE_CHANGE_STOPPING and the other
	// programs' last events), or poolDrainBound passed. It is called on the
	// owner goroutine, must not block, and calls done once, later, from
	// another goroutine.
	DrainPool(name string, done func())
}

// Logs are the files one process's output goes to ("" for none).
type Logs struct {
	Stdout, Stderr string
}

// SpawnRequest is one generation to start.
type SpawnRequest struct {
	Process *config.Process
	Logs    Logs
	// Listeners are the sockets the generation inherits (Sockets.Listen),
	// nil for none.
	Listeners *reload.Set
	// Generation numbers the program's generations from 1
	// (DROVER_GENERATION), across updates and daemon restarts.
	Generation int
}

// Child is what Host.Spawn made for one generation: its pid and the OS
// resources that live as long as that process (its stdin, its readiness
// probe, an event listener's registration). The instance that spawned it
// owns it; its methods run on the owner goroutine unless noted, and none
// blocks.
type Child interface {
	// Pid is the process Spawn started.
	Pid() int
	// Exited releases what the child held, once its pid was reaped.
	Exited()
	// WaitReady waits until the generation answers its readiness probe
	// (config Drover.Ready), or ctx ends; nil at once without a probe or
	// after Exited. A wait that ends because the process exited wraps
	// ErrExitedBeforeReady. It is called on a worker goroutine and may
	// block.
	WaitReady(ctx context.Context) error
	// RearmReady makes the next WaitReady wait for fresh readiness: called
	// just before an in-place reload signal (puma sends RELOADING=1, then
	// READY=1 again; a READY=1 seen before must not count).
	RearmReady()
	// Stdin is where sendProcessStdin writes, from any goroutine; nil when
	// the child has none. Writes fail once the child exited.
	Stdin() io.Writer
}

// Sockets are one program's drover-owned listening sockets (sockets=), from
// Host.Bind: bound once, kept across its generations, updates and daemon
// restarts, and shared out to each generation by Listen. The supervisor's
// goroutine is their only user; no method blocks.
type Sockets interface {
	// Listen takes a hold on the listeners a new generation inherits: the
	// serving ones, or with beside (a blue/green hand-off: a live
	// generation serves) TCP listeners of the generation's own, which get
	// no new connection until Promote.
	Listen(beside bool) *reload.Set
	// Release drops the hold of a generation that is gone (or was never
	// started); listeners nobody holds and that do not serve are closed.
	Release(l *reload.Set)
	// Promote makes l serve new connections from now on. It reports
	// whether the listeners that served until now are still held and were
	// steered away from (then wait until Queued of them is 0 before
	// signalling their generation); false when they are gone or shared.
	Promote(l *reload.Set) bool
	// Queued is how many connections wait in the accept queues of l when
	// l is a generation's own (0 otherwise).
	Queued(l *reload.Set) int
	// Refuse makes the listeners refuse new connections (and reset the
	// queued ones) while no generation will serve them: the program is
	// STOPPED, FATAL, or EXITED with no restart due. Reopen undoes it; the supervisor calls it before
	// every spawn. Both are idempotent.
	Refuse()
	Reopen()
	// Close closes every listener (the program was removed, or the daemon
	// exits).
	Close()
}

// ErrNoProcess is what Host.Signal returns (or wraps) when the target no
// longer exists. syscall.ESRCH is accepted as well.
var ErrNoProcess = errors.New("no such process")

func isNoProcess(err error) bool {
	return errors.Is(err, ErrNoProcess) || errors.Is(err, syscall.ESRCH)
}

// ErrExitedBeforeReady is what Child.WaitReady wraps when the generation
// exited before it was ready: the supervisor then lets the exit itself
// (which the reaper reports, with its status) decide.
var ErrExitedBeforeReady = errors.New("the generation exited before it was ready")

// resolveFault maps a Resolve error to its fault.
func resolveFault(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fault(CodeNoFile, err.Error())
	}
	return fault(CodeNotExecutable, err.Error())
}
