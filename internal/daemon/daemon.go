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
	"syscall"

	"github.com/drover-sh/drover/internal/config"
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

// daemon is one running drover daemon.
type daemon struct {
	opts Options
	path string

	mu   sync.Mutex
	cfg  *config.Config         // the running config ([supervisord], servers)
	last *config.Config         // the last config read (reread, avail, add)
	sup  *supervisor.Supervisor // the current core; replaced on reload

	log     *slog.Logger
	mainLog *logfile.Writer // nil with logfile=syslog
	host    *osHost
	server  *rpc.Server
	undo    []func() // setup steps to undo, in order done
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
	d := &daemon{opts: opts, path: path}
	cfg, err := d.load()
	if err != nil {
		return err
	}
	if !cfg.Supervisord.Nodaemon && !detached() {
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
	d.log.Info(fmt.Sprintf("supervisord started with pid %d", os.Getpid()))
	if ready != nil {
		fmt.Fprintln(ready, "ok")
	}
	return d.loop(ctx, cfg)
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
	if !sd.NoCleanup {
		if _, err := logfile.CleanupAuto(sd.ChildLogDir, sd.Identifier); err != nil {
			d.log.Warn(fmt.Sprintf("Failed to clean up old AUTO logs: %v", err))
		}
	}
	d.cfg, d.last = cfg, cfg
	for _, g := range cfg.Groups {
		if err := d.assignAutoLogs(g); err != nil {
			return err
		}
	}

	if err := spawn.BecomeSubreaper(); err != nil {
		d.log.Warn(fmt.Sprintf("could not become a child subreaper: %v", err))
	}
	pump, err := logfile.NewPump(d.log)
	if err != nil {
		return err
	}
	d.undo = append(d.undo, func() { pump.Close() })
	d.host = newOSHost(*sd, serverURL(cfg.Servers), pump, d.log)
	d.undo = append(d.undo, d.host.closeOwned)

	exits := make(chan spawn.Exit, 64)
	reaper := spawn.NewReaper(exits)
	d.undo = append(d.undo, reaper.Stop)
	go d.routeExits(exits)

	d.server, err = rpc.New(rpc.Options{
		Backend:           backend{d},
		SupervisorVersion: SupervisorVersion,
		ServerHeader:      "drover/" + d.opts.Version,
		Logger:            d.log,
	})
	if err != nil {
		return err
	}
	if err := d.server.Listen(listeners(cfg.Servers)); err != nil {
		return fmt.Errorf("could not start the control server: %w", err)
	}
	d.undo = append(d.undo, func() { d.server.Close() })

	d.undo = append(d.undo, d.handleSignals().stop)
	// Only now: the signals handled above are no longer ignored even when
	// drover was started with them ignored (nohup, a background job), so
	// children may be exec'd without the shim.
	d.host.direct = spawn.PrepareDirect()

	if err := writePidfile(sd.Pidfile, os.Getpid()); err != nil {
		return err
	}
	d.undo = append(d.undo, func() { removePidfile(sd.Pidfile, os.Getpid()) })
	return nil
}

// teardown undoes setup in reverse order.
func (d *daemon) teardown() {
	for i := len(d.undo) - 1; i >= 0; i-- {
		d.undo[i]()
	}
	d.undo = nil
}

// loop runs supervisors until a shutdown: a reload (supervisorctl reload)
// ends one supervisor after its ordered stop and starts the next one on the
// re-read config, in the same process.
func (d *daemon) loop(ctx context.Context, cfg *config.Config) error {
	for {
		sup := supervisor.New(cfg, d.host, d.log)
		d.mu.Lock()
		d.sup = sup
		d.mu.Unlock()
		stopEvents := d.startEvents(sup, cfg.Supervisord)
		err := sup.Run(ctx)
		stopEvents()
		if !errors.Is(err, supervisor.ErrRestart) {
			d.log.Info("exiting")
			return err
		}
		next, err := d.load()
		if err != nil {
			d.log.Error(fmt.Sprintf("could not reload the configuration, keeping the previous one: %v", err))
			next = d.last
		}
		if !next.Supervisord.NoCleanup {
			logfile.CleanupAuto(next.Supervisord.ChildLogDir, next.Supervisord.Identifier)
		}
		for _, g := range next.Groups {
			for _, p := range g.Processes {
				clearAuto(p)
			}
			if err := d.assignAutoLogs(g); err != nil {
				d.log.Error(err.Error())
			}
		}
		d.mu.Lock()
		d.cfg, d.last = next, next
		d.mu.Unlock()
		cfg = next
	}
}

// routeExits hands every reaped child to the current supervisor.
func (d *daemon) routeExits(exits <-chan spawn.Exit) {
	for ex := range exits {
		d.host.reaped(ex.Pid)
		d.current().Exited(ex.Pid, syscall.WaitStatus(ex.Status))
	}
}

func (d *daemon) current() *supervisor.Supervisor {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sup
}

func (d *daemon) running() *config.Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg
}

func (d *daemon) lastRead() *config.Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last
}

func (d *daemon) lastGroup(name string) *config.Group {
	for _, g := range d.lastRead().Groups {
		if g.Name == name {
			return g
		}
	}
	return nil
}

// reread parses the config again and keeps it as the last read one.
func (d *daemon) reread() (*config.Config, error) {
	cfg, err := d.load()
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.last = cfg
	d.mu.Unlock()
	return cfg, nil
}

func (d *daemon) requestShutdown() { go d.current().Shutdown(context.Background()) }
func (d *daemon) requestRestart()  { go d.current().Restart(context.Background()) }

// assignAutoLogs creates the AUTO log files of g's processes, as supervisord
// does when a group is created.
func (d *daemon) assignAutoLogs(g *config.Group) error {
	sd := d.running().Supervisord
	for _, p := range g.Processes {
		for _, t := range []struct {
			target  *config.LogTarget
			channel string
		}{{&p.Stdout, "stdout"}, {&p.Stderr, "stderr"}} {
			if !t.target.Auto || t.target.Path != "" {
				continue
			}
			if t.channel == "stderr" && p.RedirectStderr {
				continue
			}
			path, err := logfile.CreateAuto(sd.ChildLogDir, p.Name, t.channel, sd.Identifier)
			if err != nil {
				return fmt.Errorf("could not create AUTO log for '%s': %w", p.Name, err)
			}
			t.target.Path = path
		}
	}
	return nil
}

func clearAuto(p *config.Process) {
	if p.Stdout.Auto {
		p.Stdout.Path = ""
	}
	if p.Stderr.Auto {
		p.Stderr.Path = ""
	}
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
		out = append(out, lc)
	}
	return out
}
