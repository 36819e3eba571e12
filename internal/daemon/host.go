package daemon

import (
	"errors"
	"fmt"
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
	"github.com/drover-sh/drover/internal/spawn"
	"github.com/drover-sh/drover/internal/supervisor"
)

var (
	_ supervisor.Resolver     = (*osHost)(nil)
	_ supervisor.Readier      = (*osHost)(nil)
	_ supervisor.SpawnLimiter = (*osHost)(nil)
	_ supervisor.PoolDrainer  = (*osHost)(nil)
)

// osHost is the supervisor's Host over the real OS: it resolves commands,
// builds environments, wires the stdio pipes into the log pump and starts
// children through the spawn shim.
type osHost struct {
	sd        config.Supervisord // [supervisord] of the running config
	serverURL string             // SUPERVISOR_SERVER_URL for AUTO
	daemonEnv *spawn.EnvBase     // the daemon's environ, prepared once
	pump      *logfile.Pump
	log       *slog.Logger

	mu      sync.Mutex
	writers map[string]*sharedWriter // by path; shared by every child writing it
	stdin   map[int]*os.File         // write end of each live child's stdin
	// A child can be reaped before Spawn returns its pid: while spawns are
	// in flight, reaped pids are remembered so Spawn does not keep the
	// stdin of a child that is already gone.
	inflight    int
	reapedEarly map[int]struct{}

	owned  map[string]*owned // drover-owned sockets and generations, by process
	gens   map[int]*liveGen  // the listeners each live generation holds, by pid
	probes map[int]*liveProbe
	notify string // private dir of NOTIFY_SOCKETs; "" until needed

	syslogOnce sync.Once
	syslogW    *syslog.Writer

	events *events.Dispatcher // the current supervisor's; guarded by mu
	// listenerPids are the live event listener processes, with the
	// dispatcher told of their spawn (only their exits go to it).
	listenerPids map[int]*events.Dispatcher

	direct bool // spawn.PrepareDirect said children may skip the shim (set in setup)
	slots  chan struct{}
}

// sharedWriter is a log Writer with the number of pipes writing to it, so
// two generations of a program (or a restart while the old pipes drain)
// share one rotation state.
type sharedWriter struct {
	w    *logfile.Writer
	refs int
}

func newOSHost(sd config.Supervisord, serverURL string, pump *logfile.Pump, log *slog.Logger) *osHost {
	return &osHost{
		sd:        sd,
		serverURL: serverURL,
		daemonEnv: spawn.NewEnvBase(os.Environ()),
		pump:      pump,
		log:       log,
		writers:   map[string]*sharedWriter{},
		stdin:     map[int]*os.File{},

		reapedEarly:  map[int]struct{}{},
		owned:        map[string]*owned{},
		probes:       map[int]*liveProbe{},
		listenerPids: map[int]*events.Dispatcher{},
		slots:        make(chan struct{}, spawnSlots()),
	}
}

// resolve finds p's executable as supervisord does (§3.6): through the
// PATH of the program's merged environment, else the daemon's.
func (h *osHost) resolve(p *config.Process) (string, error) {
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

// Resolve implements supervisor.Resolver: startProcess checks the command
// before it changes any state.
func (h *osHost) Resolve(p *config.Process) error {
	_, err := h.resolve(p)
	return err
}

// spawnSlots bounds concurrent spawns: one per processor the Go runtime
// uses, at least 2 and at most 8. A burst (500 programs at start-up) then
// runs on a few threads, and every thread a burst adds stays in the
// process with its stacks (8 slots: 13-15 threads, 2: 10, daemon VmRSS
// with 500 programs 0.3 MB lower on 2 cores), while a fork/exec holds a
// processor anyway, so more slots than processors do not start faster.
func spawnSlots() int { return min(max(runtime.GOMAXPROCS(0), 2), 8) }

// SpawnConcurrency implements supervisor.SpawnLimiter: the supervisor runs
// at most as many spawns at once as there are slots, on as many goroutines,
// instead of one goroutine per queued spawn. (The slots still bound spawns
// across supervisors, e.g. one ending on a reload while the next starts.)
func (h *osHost) SpawnConcurrency() int { return cap(h.slots) }

// Spawn implements supervisor.Host.
func (h *osHost) Spawn(p *config.Process) (int, error) {
	h.slots <- struct{}{}
	defer func() { <-h.slots }()
	path, err := h.resolve(p)
	if err != nil {
		return 0, err
	}
	serverURL := p.ServerURL
	if serverURL == "AUTO" || serverURL == "" {
		serverURL = h.serverURL
	}
	var user *spawn.User
	if p.UID >= 0 && p.User != "" {
		user = &spawn.User{Name: p.User, Home: p.HomeDir, UID: uint32(p.UID), GID: uint32(p.GID), Groups: p.Groups}
	}
	env := h.daemonEnv.Build(spawn.EnvInput{
		ProcessName: p.Name,
		GroupName:   p.Group,
		ServerURL:   serverURL,
		Global:      vars(h.sd.Environment),
		Program:     vars(p.Environment),
		User:        user,
		Directory:   p.Directory,
	})

	gs, err := h.prepareGen(p)
	if err != nil {
		return 0, err
	}
	pipes, err := h.openPipes(p)
	if err != nil {
		h.started(gs, 0, err, false)
		return 0, &spawn.Error{Step: "pipe", Err: err}
	}
	h.mu.Lock()
	h.inflight++
	h.mu.Unlock()
	pid, err := spawn.Start(&spawn.Spec{
		Path:        path,
		Argv:        p.Argv,
		Env:         withEnv(env, gs.inh.Env),
		Dir:         p.Directory,
		User:        user,
		Umask:       p.Umask,
		Stdin:       pipes.childStdin,
		Stdout:      pipes.childStdout,
		Stderr:      pipes.childStderr,
		ExtraFiles:  gs.inh.Files,
		ListenFDs:   len(gs.inh.Files),
		ListenNames: gs.inh.Names,
		Direct:      h.direct,
	})
	// The child holds its ends now (or never will): the parent's copies go.
	pipes.closeChildEnds()
	h.mu.Lock()
	_, gone := h.reapedEarly[pid]
	if h.inflight--; h.inflight == 0 {
		clear(h.reapedEarly)
	}
	if pid != 0 && !gone {
		h.stdin[pid] = pipes.stdin
		pipes.stdin = nil
	}
	h.mu.Unlock()
	if pipes.stdin != nil {
		pipes.stdin.Close()
		pipes.stdin = nil
	}
	h.started(gs, pid, err, gone)
	if pid == 0 {
		pipes.closeParentEnds()
		return 0, err
	}
	if ev := h.dispatcher(); ev != nil && p.EventListener && !gone {
		h.mu.Lock()
		h.listenerPids[pid] = ev
		h.mu.Unlock()
		ev.Spawned(p.Group, p.Name, pid) // before the pump reads its output
	}
	var hook func([]byte)
	if gs.probe != nil {
		hook = gs.probe.LogHook()
	}
	h.pumpOutput(p, pid, pipes, hook)
	return pid, err
}

// Signal implements supervisor.Host.
func (h *osHost) Signal(pid int, sig syscall.Signal, group bool) error {
	err := spawn.Signal(pid, sig, group)
	if errors.Is(err, spawn.ErrNoProcess) {
		return fmt.Errorf("%w: %w", supervisor.ErrNoProcess, err)
	}
	return err
}

// reaped drops what the host kept for pid (its stdin pipe).
func (h *osHost) reaped(pid int) {
	h.mu.Lock()
	f, ok := h.stdin[pid]
	delete(h.stdin, pid)
	if !ok && h.inflight > 0 {
		h.reapedEarly[pid] = struct{}{}
	}
	h.mu.Unlock()
	if f != nil {
		f.Close()
	}
	h.probeExited(pid)
	h.listenersExited(pid)
	h.mu.Lock()
	ev := h.listenerPids[pid]
	delete(h.listenerPids, pid)
	h.mu.Unlock()
	if ev != nil {
		ev.Exited(pid)
	}
}

// writeStdin sends data to the child's stdin (sendProcessStdin).
func (h *osHost) writeStdin(pid int, data []byte) error {
	h.mu.Lock()
	f := h.stdin[pid]
	h.mu.Unlock()
	if f == nil {
		return errNoStdin
	}
	_, err := f.Write(data)
	return err
}

var errNoStdin = errors.New("process has no stdin")

// reopenLogs reopens every open child log (SIGUSR2).
func (h *osHost) reopenLogs() {
	h.mu.Lock()
	ws := make([]*logfile.Writer, 0, len(h.writers))
	for _, sw := range h.writers {
		ws = append(ws, sw.w)
	}
	h.mu.Unlock()
	for _, w := range ws {
		if err := w.Reopen(); err != nil {
			h.log.Warn(fmt.Sprintf("could not reopen %s: %v", w.Path(), err))
		}
	}
}

// clearLog deletes and recreates the log at path (clearProcessLogs).
func (h *osHost) clearLog(path string) error {
	if path == "" {
		return nil
	}
	h.mu.Lock()
	sw := h.writers[path]
	h.mu.Unlock()
	if sw != nil {
		return sw.w.Clear()
	}
	// Nobody writes it now: truncate in place (keeps a non-regular target).
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC|os.O_CREATE, 0o666)
	if err != nil {
		return err
	}
	return f.Close()
}

// acquire returns the shared writer for a log target, opening it on first use.
func (h *osHost) acquire(t config.LogTarget) (*logfile.Writer, error) {
	if t.Path == "" {
		return nil, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if sw, ok := h.writers[t.Path]; ok {
		sw.refs++
		return sw.w, nil
	}
	w, err := logfile.OpenWriter(t.Path, t.MaxBytes, t.Backups, h.log)
	if err != nil {
		return nil, err
	}
	h.writers[t.Path] = &sharedWriter{w: w, refs: 1}
	return w, nil
}

// release drops one reference to the writer at path, closing it at zero.
func (h *osHost) release(path string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	sw, ok := h.writers[path]
	if !ok {
		return
	}
	if sw.refs--; sw.refs == 0 {
		delete(h.writers, path)
		sw.w.Close()
	}
}

func vars(e config.Env) []spawn.Var {
	out := make([]spawn.Var, len(e))
	for i, v := range e {
		out[i] = spawn.Var{Key: v.Key, Value: v.Value}
	}
	return out
}
