package daemon

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"log/syslog"
	"os"
	"runtime"
	"sync"
	"syscall"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/events"
	"github.com/drover-sh/drover/internal/logfile"
	"github.com/drover-sh/drover/internal/reload"
	"github.com/drover-sh/drover/internal/spawn"
	"github.com/drover-sh/drover/internal/supervisor"
)

// osHost is what every supervisor of the daemon's life shares to reach the
// OS: the log pump and the open log files, the daemon's environment, the
// spawn slots and the notify directory. It keeps nothing per process: a
// spawn's resources go back to the supervisor as a Child, a program's
// sockets as Sockets.
type osHost struct {
	daemonEnv *spawn.EnvBase // the daemon's environ, prepared once
	pump      *logfile.Pump
	files     *logfile.Files
	log       *slog.Logger
	slots     chan struct{}
	// direct: spawn.PrepareDirect said children may skip the shim. Set
	// in setup, before any supervisor exists.
	direct bool
	// forkers run the children's fork+execs (nil: on the spawning
	// goroutine's thread). Set in setup, with direct.
	forkers *spawn.Forkers

	notify  lazyDir // private dir of NOTIFY_SOCKETs, made on first use
	syslogW func() io.Writer
	// handed is what an in-place upgrade handed over (nil otherwise).
	handed *handedSet
	// keeper holds duplicates of the pipes and sockets for the next
	// daemon if this one crashes (nil: no crash survival).
	keeper *keeperConn
	// console is drover's own stdout and stderr with nodaemon (nil when
	// detached): stdout_console and stderr_console copy lines there.
	console *logfile.Console
}

func newOSHost(pump *logfile.Pump, log *slog.Logger) *osHost {
	h := &osHost{
		daemonEnv: spawn.NewEnvBase(childEnviron(os.Environ())),
		pump:      pump,
		files:     logfile.NewFiles(log),
		log:       log,
		slots:     make(chan struct{}, spawnSlots()),
	}
	h.syslogW = sync.OnceValue(h.openSyslog)
	return h
}

// close removes the notify directory and ends the forkers (daemon exit).
func (h *osHost) close() {
	h.notify.remove()
	h.forkers.Close()
}

// host is one supervisor's Host: the shared osHost, the [supervisord]
// section of that supervisor's config (so a restart applies a changed
// environment, childlogdir or serverurl) and its event dispatcher.
type host struct {
	*osHost
	sd        config.Supervisord
	serverURL string // SUPERVISOR_SERVER_URL for AUTO
	ev        *events.Dispatcher
}

var _ supervisor.Host = (*host)(nil)

// forSupervisor returns the Host of a supervisor of cfg.
func (h *osHost) forSupervisor(cfg *config.Config, ev *events.Dispatcher) *host {
	return &host{osHost: h, sd: cfg.Supervisord, serverURL: serverURL(cfg.Servers), ev: ev}
}

// Resolve finds p's executable as supervisord does (§3.6): through the
// PATH of the program's merged environment, else the daemon's.
func (h *host) Resolve(p *config.Process) error {
	_, err := h.resolve(p)
	return err
}

func (h *host) resolve(p *config.Process) (string, error) {
	if p.Argv == nil {
		return "", fmt.Errorf("bad command %q: %s", p.Command, p.ArgvErr)
	}
	progPATH, have := p.Environment.Lookup("PATH")
	if !have {
		progPATH, have = h.sd.Environment.Lookup("PATH")
	}
	path, err := spawn.Resolve(p.Argv[0], progPATH, have, os.Getenv("PATH"))
	if errors.Is(err, spawn.ErrNotFound) {
		return "", notFound{err}
	}
	return path, err
}

// notFound marks a command that does not exist, so startProcess answers
// NO_FILE (the others are NOT_EXECUTABLE), keeping supervisord's message.
type notFound struct{ error }

func (notFound) Is(target error) bool { return target == fs.ErrNotExist }
func (e notFound) Unwrap() error      { return e.error }

// Logs creates p's AUTO log files in this config's childlogdir, with
// supervisord's names, and returns where p's output goes.
func (h *host) Logs(p *config.Process) (supervisor.Logs, error) {
	if l, ok := h.handedLogs(p); ok {
		return l, nil
	}
	var l supervisor.Logs
	var err error
	l.Stdout, err = h.logPath(p, p.Stdout, "stdout")
	if err != nil {
		return l, err
	}
	l.Stderr, err = h.logPath(p, p.Stderr, "stderr")
	return l, err
}

func (h *host) logPath(p *config.Process, t config.LogTarget, channel string) (string, error) {
	if !t.Auto || (channel == "stderr" && p.RedirectStderr) {
		return t.Path, nil
	}
	path, err := logfile.CreateAuto(h.sd.ChildLogDir, p.Name, channel, h.sd.Identifier)
	if err != nil {
		return "", fmt.Errorf("could not create AUTO log for '%s': %w", p.Name, err)
	}
	return path, nil
}

// Bind binds p's sockets= with its socket_* options.
func (h *host) Bind(p *config.Process) (supervisor.Sockets, error) {
	d := p.Drover
	so := reload.SocketOptions{Backlog: d.SocketBacklog, Mode: d.SocketMode}
	if d.SocketUID >= 0 {
		so.Owner = &reload.Owner{UID: d.SocketUID, GID: d.SocketGID}
	}
	set, err := h.handedBind(p, so)
	if set == nil && err == nil {
		set, err = reload.Bind(d.Sockets, so)
	}
	if err != nil {
		return nil, err
	}
	ps := newProgramSockets(p.Name, set, h.log)
	if h.keeper != nil {
		ps.keeper, ps.key = h.keeper, "sock:"+p.Group+":"+p.Name
		if hs, _, err := set.Export(); err == nil {
			labels, fds := make([]string, len(hs)), make([]int, len(hs))
			for i, x := range hs {
				labels[i], fds[i] = x.SpecText, x.FD
			}
			h.keeper.keep(ps.key, labels, fds)
		}
	}
	return ps, nil
}

// spawnSlots bounds concurrent spawns: two per processor the Go runtime
// uses, at least 2 and at most 8. A spawn's thread spends much of its time
// waiting for its child's exec (vfork, then the exec status pipe), so two
// per processor keep the processors busy: on 2 cores, 500 programs
// exec'd in 1.31-1.37x the fork+exec floor against 1.38-1.43x with one
// per processor (15 starts each, two runs, order swapped), and three per
// processor were no faster. Every thread a burst adds stays in the process
// with its stacks: 12 threads against 10, daemon VmRSS with 500 programs
// within the run-to-run noise (0.2 MB).
func spawnSlots() int { return min(max(2*runtime.GOMAXPROCS(0), 2), 8) }

// SpawnConcurrency is the number of slots: the supervisor runs at most as
// many spawns at once, on as many goroutines, instead of one goroutine per
// queued spawn. (The slots still bound spawns across supervisors, e.g. one
// ending on a reload while the next starts.)
func (h *host) SpawnConcurrency() int { return cap(h.slots) }

// Signal sends sig to pid or its group.
func (h *host) Signal(pid int, sig syscall.Signal, group bool) error {
	err := spawn.Signal(pid, sig, group)
	if errors.Is(err, spawn.ErrNoProcess) {
		return fmt.Errorf("%w: %w", supervisor.ErrNoProcess, err)
	}
	return err
}

// DrainPool stops a listener pool at shutdown once it delivered what it
// buffered.
func (h *host) DrainPool(name string, done func()) {
	if h.ev == nil {
		go done()
		return
	}
	h.ev.DrainPool(name, done)
}

// openSyslog is the shared syslog connection for *_syslog=true, or nil when
// the machine has no syslog (said once).
func (h *osHost) openSyslog() io.Writer {
	w, err := syslog.New(syslog.LOG_INFO|syslog.LOG_USER, "")
	if err != nil {
		h.log.Warn(fmt.Sprintf("syslog unavailable, *_syslog output is dropped: %v", err))
		return nil // a nil *syslog.Writer in an io.Writer would not be nil
	}
	return w
}

// lazyDir is the private directory for NOTIFY_SOCKETs, made on first use.
type lazyDir struct {
	once sync.Once
	dir  string
	err  error
}

func (d *lazyDir) get() (string, error) {
	d.once.Do(func() {
		d.dir, d.err = os.MkdirTemp("", "drover-notify-")
		// Searchable by programs that dropped privileges, not listable.
		if d.err == nil {
			d.err = os.Chmod(d.dir, 0o711)
		}
	})
	return d.dir, d.err
}

// remove deletes the directory if it was made; after it, get makes none.
func (d *lazyDir) remove() {
	d.once.Do(func() {})
	if d.dir != "" {
		os.RemoveAll(d.dir)
	}
}

func vars(e config.Env) []spawn.Var {
	out := make([]spawn.Var, len(e))
	for i, v := range e {
		out[i] = spawn.Var{Key: v.Key, Value: v.Value}
	}
	return out
}
