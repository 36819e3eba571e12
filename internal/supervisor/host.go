package supervisor

import (
	"context"
	"errors"
	"io/fs"
	"syscall"

	"github.com/drover-sh/drover/internal/config"
)

// Host is the seam between the state machine and the operating system. The
// daemon implements it with internal/spawn; tests use a fake. The supervisor
// never calls the OS itself.
type Host interface {
	// Spawn starts p and blocks until its program exec'd (or failed). It is
	// called on a worker goroutine, never on the owner goroutine, so many
	// programs can be spawned at once. A non-nil err is a spawn error: its
	// message becomes spawnerr. pid may be non-zero even with err (a shim
	// that failed before exec exits and is reaped: that exit is ignored).
	Spawn(p *config.Process) (pid int, err error)
	// Signal sends sig to pid, or to the process group pid when group is
	// true. A process that is already gone is reported as an error matching
	// ErrNoProcess (or syscall.ESRCH); the state machine ignores it because
	// the reaper reports the exit.
	Signal(pid int, sig syscall.Signal, group bool) error
}

// ErrNoProcess is what Host.Signal returns (or wraps) when the target no
// longer exists. syscall.ESRCH is accepted as well.
var ErrNoProcess = errors.New("no such process")

func isNoProcess(err error) bool {
	return errors.Is(err, ErrNoProcess) || errors.Is(err, syscall.ESRCH)
}

// Resolver is optionally implemented by a Host. startProcess (and the
// group and all variants) then checks the command before anything else,
// like supervisord's get_execv_args, and refuses without changing any state:
// NO_FILE for an error wrapping fs.ErrNotExist, NOT_EXECUTABLE for any other
// error. Resolve is called on the requesting goroutine, never the owner's.
type Resolver interface {
	Resolve(p *config.Process) error
}

// resolveFault maps a Resolve error to its fault.
func resolveFault(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fault(CodeNoFile, err.Error())
	}
	return fault(CodeNotExecutable, err.Error())
}

// PoolDrainer is optionally implemented by a Host. At shutdown and reload
// an event listener pool is stopped only once its listeners have taken and
// answered every event it buffered (so they see
// SUPERVISOR_STATE_CHANGE_STOPPING and the other programs' last events), or
// after poolDrainBound. DrainPool is called on the owner goroutine, must not
// block, and calls done once, later, from another goroutine.
type PoolDrainer interface {
	DrainPool(name string, done func())
}

// noHost stands in for a missing Host: every spawn fails.
type noHost struct{}

func (noHost) Spawn(*config.Process) (int, error)     { return 0, errors.New("no host to spawn processes") }
func (noHost) Signal(int, syscall.Signal, bool) error { return ErrNoProcess }

// Follower is optionally implemented by a Host: it lets the supervisor
// follow a master that re-exec'd itself (unicorn/gunicorn USR2). drover is a
// child subreaper, so when an old master exits after forking its successor,
// the successor is re-parented to drover and keeps the old master's process
// group.
//
// Successor reports a live process whose parent is drover and whose process
// group is pgid, preferring the pid in pidfileHint ("" for none) when that
// pid qualifies. It is called on a worker goroutine, never the owner's, after
// the old master was reaped.
type Follower interface {
	Successor(pgid int, pidfileHint string) (pid int, ok bool)
}

// SpawnLimiter is optionally implemented by a Host: at most
// SpawnConcurrency() calls of Spawn then run at once, on that many worker
// goroutines that exist only while spawns are queued (FIFO, so the start
// order is kept). Without it (or with a value < 1) every spawn gets its own
// goroutine. A burst of 500 spawns then costs a few goroutines, not 500
// stacks that the runtime keeps cached afterwards.
type SpawnLimiter interface {
	SpawnConcurrency() int
}

// Readier is optionally implemented by a Host: it waits until generation pid
// of p answers its readiness probe (config Drover.Ready), or ctx ends. A
// reload uses it after the in-place signal, the adopted re-exec or the
// restart; it is called on the requesting goroutine. Without a Readier a
// reload succeeds once its signal was sent (or its successor adopted).
//
// A wait that ends because the generation exited should return an error
// wrapping ErrExitedBeforeReady: the supervisor then lets the exit itself
// (which the reaper reports) decide, with its status.
type Readier interface {
	WaitReady(ctx context.Context, p *config.Process, pid int) error
}

// ErrExitedBeforeReady is what a Readier's WaitReady wraps when the
// generation exited before it was ready.
var ErrExitedBeforeReady = errors.New("the generation exited before it was ready")

// ReloadPreparer is optionally implemented by a Readier host: PrepareReload
// is called on the owner goroutine just before an in-place reload signal
// goes to pid (reload = signal), so the WaitReady that follows needs fresh
// readiness (e.g. forgets a READY=1 seen before: puma sends RELOADING=1,
// then READY=1 again). It must not block.
type ReloadPreparer interface {
	PrepareReload(p *config.Process, pid int)
}

// Steerer is optionally implemented by a Host that gives a blue/green
// hand-off's new generation listeners of its own next to the serving
// generation's, and decides which of them gets new connections. Both
// methods are called on the owner goroutine and must not block.
type Steerer interface {
	// Promote sends p's new connections to generation newPid (ready) from
	// now on instead of oldPid. It reports whether the two have listeners
	// of their own; false means they share them (or steering failed) and
	// the supervisor signals oldPid at once.
	Promote(p *config.Process, newPid, oldPid int) bool
	// Queued is how many connections wait in the accept queues of
	// generation pid's own listeners (0 when it has none). After Promote
	// the supervisor signals oldPid only once this is 0, so that no
	// connection the old generation was handed is dropped by its stop.
	Queued(p *config.Process, pid int) int
}
