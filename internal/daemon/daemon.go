// Package daemon wires drover's parts into the running daemon: config,
// the supervisor core, the spawn shim and reaper, log capture, the control
// API, signals, detaching and the pidfile.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/events"
	"github.com/drover-sh/drover/internal/logfile"
	"github.com/drover-sh/drover/internal/rpc"
	"github.com/drover-sh/drover/internal/spawn"
	"github.com/drover-sh/drover/internal/supervisor"
)

// SupervisorVersion is what getSupervisorVersion answers: the supervisord
// release whose API drover implements, so version checks in tools pass.
const SupervisorVersion = "4.2.5"

// Options configure Run.
type Options struct {
	// ConfigPath is -c; "" searches supervisord's default locations.
	ConfigPath string
	// Overrides are [supervisord] options given on the command line; they
	// win over the file.
	Overrides map[string]string
	// Stdout receives the main log echo with nodaemon (and not silent).
	Stdout io.Writer
	// Stderr receives start-up errors of a detaching daemon.
	Stderr io.Writer
	// Version is drover's own version, for the start-up line.
	Version string
}

// daemon is one running drover daemon. Its lifecycle goroutine (loop)
// owns which config runs and which supervisor serves: it alone writes now,
// and HUP, reread, restart and shutdown reach it as messages.
type daemon struct {
	opts Options
	path string

	now       atomic.Pointer[current]
	lifecycle chan lifecycleReq
	loopDone  chan struct{} // closed when loop returns

	log     *slog.Logger
	mainLog *logfile.Writer  // nil with logfile=syslog
	console *logfile.Console // drover's stdout and stderr with nodaemon, else nil
	host    *osHost
	reaper  *spawn.Reaper
	routed  chan struct{} // closed when routeExits returned (the reaper stopped)
	// supReady is closed once the first supervisor exists: exits reaped
	// before (a handed-over child's) wait for it.
	supReady     chan struct{}
	supReadyOnce sync.Once
	// handed is what an in-place upgrade handed to this image (nil
	// otherwise).
	handed *handoverState
	// upgraded: handed came through execve (control listeners included),
	// not from a crashed predecessor's state file.
	upgraded bool
	// stateKick asks the state writer for a new state file (crash.go).
	stateKick chan struct{}
	// stateSoon asks for one within stateWriteGap (crash.go).
	stateSoon chan struct{}
	server    *rpc.Server
	sd        *sdNotifier // nil without NOTIFY_SOCKET
	undo      []func()    // setup steps to undo, in order done
	started   time.Time
}

// current is what the lifecycle goroutine publishes; readers load it and
// never see a half-changed pair.
type current struct {
	cfg  *config.Config         // the running config ([supervisord], servers)
	last *config.Config         // the last config read (reread, avail, add)
	sup  *supervisor.Supervisor // nil before the first
	ev   *events.Dispatcher     // sup's
}

// Run loads the config and runs the daemon until it is shut down. With
// nodaemon=false it detaches and returns once the detached daemon serves.
func Run(ctx context.Context, opts Options) error {
	path := opts.ConfigPath
	if path == "" {
		p, err := config.Find(os.Args[0])
		if err != nil {
			return err
		}
		path = p
	}
	d := &daemon{opts: opts, path: path, lifecycle: make(chan lifecycleReq, 16), loopDone: make(chan struct{}), supReady: make(chan struct{}), started: time.Now()}
	handed, err := readHandover()
	if err != nil {
		return fmt.Errorf("%w: in-place upgrade: %w", ErrStartupFailed, err)
	}
	d.handed, d.upgraded = handed, handed != nil
	cfg, err := d.load()
	if err != nil {
		return err
	}
	if !cfg.Supervisord.Nodaemon && !detached() && handed == nil {
		if os.Getenv("NOTIFY_SOCKET") != "" && opts.Stderr != nil {
			// systemd accepts notifications from its main process only.
			fmt.Fprintln(opts.Stderr, "drover: NOTIFY_SOCKET is set but the daemon detaches: use -n (nodaemon) under Type=notify")
		}
		_, err := detach(cfg.Supervisord.Directory, int(cfg.Supervisord.Umask), opts.Stderr)
		return err
	}
	// The daemon's live heap is small (~1 MB for 200 programs) and it is
	// idle most of the time: a tight GC target keeps its resident memory
	// near the live heap. At 50 the headroom the heap grows into once
	// exits start was ~0.5 MB, 5-7 % of the RSS in the soak bench; at 25 it
	// is 1-4 %, at no measurable cost in respawn or log CPU. A GOGC in the
	// environment still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(25)
	}
	ready := readyPipe()
	err = d.run(ctx, cfg, ready)
	if err != nil && ready != nil {
		fmt.Fprintln(ready, err)
	}
	if ready != nil {
		ready.Close()
	}
	return err
}

func (d *daemon) load() (*config.Config, error) {
	return config.Load(d.path, config.Options{Overrides: d.opts.Overrides})
}

// ErrStartupFailed wraps every failure before the daemon serves (log file,
// privileges, limits, binding the control servers, pidfile): supervisord
// exits 2 for these.
var ErrStartupFailed = errors.New("could not start")

// run is the daemon proper, after any detaching.
func (d *daemon) run(ctx context.Context, cfg *config.Config, ready *os.File) error {
	if err := d.setup(cfg); err != nil {
		return fmt.Errorf("%w: %w", ErrStartupFailed, err)
	}
	defer d.teardown()
	if d.upgraded {
		d.log.Info(fmt.Sprintf("drover upgraded in place from %s to %s with pid %d", d.handed.FromVersion, d.opts.Version, os.Getpid()))
	} else {
		d.log.Info(fmt.Sprintf("supervisord started with pid %d", os.Getpid()))
	}
	if ready != nil {
		fmt.Fprintln(ready, "ok")
	}
	return d.loop(ctx)
}

// setup prepares everything the daemon needs before it serves; on failure
// it undoes what it did. teardown undoes it after the last supervisor ended.
func (d *daemon) setup(cfg *config.Config) (err error) {
	defer func() {
		if err != nil {
			d.teardown()
		}
	}()
	sd := &cfg.Supervisord
	if err := dropPrivileges(sd.User); err != nil {
		return err
	}
	limitNotes, err := spawn.RaiseLimits(sd.MinFDs, sd.MinProcs)
	if err != nil {
		return err
	}
	if sd.Nodaemon && d.opts.Stdout != nil {
		stderr := d.opts.Stderr
		if stderr == nil {
			stderr = os.Stderr
		}
		d.console = logfile.NewConsole(d.opts.Stdout, stderr)
	}
	if err := d.openMainLog(sd); err != nil {
		return err
	}
	d.undo = append(d.undo, d.closeMainLog)
	for _, n := range limitNotes {
		d.log.Info(n)
	}
	if os.Geteuid() == 0 && sd.User == "" {
		d.log.Log(context.Background(), logfile.LevelCritical, "Supervisor is running as root.  Privileges were not dropped because no user is specified in the config file.  If you intend to run as root, you can set user=root in the config file to avoid this message.")
	}
	for _, w := range cfg.Warnings {
		d.log.Warn(fmt.Sprintf("%s:%d: %s", w.Pos.File, w.Pos.Line, w.Msg))
	}
	if !sd.Nodaemon {
		warnConsoleDetached(d.log, cfg)
	}
	d.now.Store(&current{cfg: cfg, last: cfg})

	if err := spawn.BecomeSubreaper(); err != nil {
		d.log.Warn(fmt.Sprintf("could not become a child subreaper: %v", err))
	}
	pump, err := logfile.NewPump(d.log)
	if err != nil {
		return err
	}
	d.undo = append(d.undo, func() { pump.Close() })
	d.host = newOSHost(pump, d.log)
	d.host.console = d.console
	if d.console != nil {
		// Programs' stdout_logfile=/dev/stdout lines and console lines
		// never land inside each other.
		d.host.files.SerializeStdio(d.console.Locker())
	}
	d.undo = append(d.undo, d.host.close)
	if d.handed != nil {
		d.host.handed = newHandedSet(d.handed)
	}
	d.sd = newSDNotifier(d.log)
	d.undo = append(d.undo, d.sd.close)

	d.startReaper()
	d.undo = append(d.undo, func() {
		d.markSupReady() // a setup that failed before: routeExits must not wait
		d.reaper.Stop()  // closes Exits: routeExits returns
		<-d.routed
	})

	d.server, err = rpc.New(rpc.Options{
		Backend:           backend{d},
		SupervisorVersion: SupervisorVersion,
		ServerHeader:      "drover/" + d.opts.Version,
		Logger:            d.log,
	})
	if err != nil {
		return err
	}
	d.applyControl(cfg, false) // before the first request can come in
	// The control servers bind before anything touches shared state: a
	// second daemon on this config fails here (or at the pidfile's lock
	// just below), before it cleans up the first one's AUTO logs or writes
	// the pidfile.
	if d.handed == nil {
		if err := d.server.Listen(listeners(cfg.Servers)); err != nil {
			return fmt.Errorf("could not start the control server: %w", err)
		}
	}
	d.undo = append(d.undo, func() { d.server.Close() })
	// Without a control server the pidfile's lock is what says a daemon
	// runs on this config: checked before the AUTO logs are cleaned too.
	if err := checkPidfile(sd.Pidfile); err != nil {
		return err
	}
	d.setupSurvival(sd)
	if d.handed == nil { // the handed-over programs write their AUTO logs still
		d.cleanupAuto(sd)
	}
	if err := checkChildLogDir(cfg); err != nil {
		return err
	}
	// The first supervisor exists (not yet running) before requests can
	// reach the backend.
	cur := d.newSupervisor(cfg, nil)
	if d.handed != nil {
		recs := make([]supervisor.ProcRecord, len(d.handed.Procs))
		for i, p := range d.handed.Procs {
			recs[i] = p.ProcRecord
		}
		cur.sup.Adopt(recs)
	}
	if d.upgraded {
		// The sockets clients queue on since the previous image stopped
		// accepting, served once there is a supervisor to answer them; one
		// that cannot be served is no reason to drop the programs this
		// image now supervises.
		if err := d.server.Attach(listeners(cfg.Servers), d.handed.Control); err != nil {
			d.log.Error(fmt.Sprintf("could not start the control server: %v", err))
		}
	}

	d.undo = append(d.undo, d.handleSignals().stop)
	// Only now: the signals handled above are no longer ignored even when
	// drover was started with them ignored (nohup, a background job), so
	// children may be exec'd without the shim.
	d.host.direct = spawn.PrepareDirect()
	// Forks from threads with a table of their own: forks of a daemon
	// holding thousands of descriptors cost more (spawn/forker.go).
	d.host.forkers = spawn.NewForkers(spawnSlots())

	lock, err := writePidfile(sd.Pidfile, os.Getpid())
	if err != nil {
		return err
	}
	d.undo = append(d.undo, func() { removePidfile(sd.Pidfile, os.Getpid(), lock) })
	d.sd.watchdog(watchdogInterval(), d.current)
	return nil
}

// teardown undoes setup in reverse order.
func (d *daemon) teardown() {
	for i := len(d.undo) - 1; i >= 0; i-- {
		d.undo[i]()
	}
	d.undo = nil
}

// routeExits hands every reaped child to the current supervisor, until
// the reaper stops.
func (d *daemon) routeExits(done chan<- struct{}) {
	defer close(done)
	exits := d.reaper.Exits()
	<-d.supReady
	for ex := range exits {
		if sup := d.now.Load().sup; sup != nil {
			sup.Exited(ex.Pid, syscall.WaitStatus(ex.Status))
		}
	}
}

func (d *daemon) markSupReady() { d.supReadyOnce.Do(func() { close(d.supReady) }) }

func (d *daemon) current() *supervisor.Supervisor { return d.now.Load().sup }
func (d *daemon) running() *config.Config         { return d.now.Load().cfg }
func (d *daemon) lastRead() *config.Config        { return d.now.Load().last }

func (d *daemon) lastGroup(name string) *config.Group {
	for _, g := range d.lastRead().Groups {
		if g.Name == name {
			return g
		}
	}
	return nil
}

// cleanupAuto removes the AUTO logs a previous daemon left, unless
// nocleanup.
func (d *daemon) cleanupAuto(sd *config.Supervisord) {
	if sd.NoCleanup {
		return
	}
	if _, err := logfile.CleanupAuto(sd.ChildLogDir, sd.Identifier); err != nil {
		d.log.Warn(fmt.Sprintf("Failed to clean up old AUTO logs: %v", err))
	}
}

// checkChildLogDir fails start-up, as supervisord does, when AUTO log files
// cannot be created in childlogdir; later failures (a group added after
// the directory went away) are logged by the supervisor and the process
// runs without that log.
func checkChildLogDir(cfg *config.Config) error {
	for _, g := range cfg.Groups {
		for _, p := range g.Processes {
			if p.Stdout.Auto || (p.Stderr.Auto && !p.RedirectStderr) {
				f, err := os.CreateTemp(cfg.Supervisord.ChildLogDir, ".drover-check-*")
				if err != nil {
					return fmt.Errorf("could not create AUTO log for '%s': %w", p.Name, err)
				}
				f.Close()
				return os.Remove(f.Name())
			}
		}
	}
	return nil
}

// serverURL is SUPERVISOR_SERVER_URL for serverurl=AUTO: the unix socket if
// there is one, else the first inet server.
func serverURL(servers []config.Server) string {
	for _, s := range servers {
		if s.Kind == config.ServerUnix {
			return "unix://" + s.File
		}
	}
	if len(servers) == 0 {
		return ""
	}
	host := servers[0].Host
	if host == "" || host == "*" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(servers[0].Port))
}

func listeners(servers []config.Server) []rpc.ListenerConfig {
	out := make([]rpc.ListenerConfig, 0, len(servers))
	for _, s := range servers {
		lc := rpc.ListenerConfig{
			Section:     s.Section,
			Unix:        s.Kind == config.ServerUnix,
			File:        s.File,
			Chmod:       s.Chmod,
			UID:         s.ChownUID,
			GID:         s.ChownGID,
			Credentials: rpc.Credentials{Username: s.Username, Password: s.Password},
		}
		if !lc.Unix {
			lc.Port = net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
		}
		if s.TLSCert != "" {
			lc.TLS = &rpc.TLSFiles{Cert: s.TLSCert, Key: s.TLSKey, ClientCA: s.TLSClientCA}
		}
		out = append(out, lc)
	}
	return out
}
