package config

import (
	"slices"
	"strings"
	"syscall"
	"time"
)

// droverOptions are drover's own [program:x] keys (zero-downtime reloads).
// supervisord ignores unknown keys, so they never break a file there; drover
// knows them, so they are not warned about. Their defaults depend on the
// server preset and on sockets=, so they are set in droverDefaults, not in
// optionDefaults.
var droverOptions = []string{
	"sockets", "socket_backlog", "socket_mode", "socket_owner", "server", "reload",
	"reload_signal", "ready", "ready_timeout", "graceful_stop_signal", "graceful_timeout", "pidfile",
	"depends_on",       // depends.go; the backoff policy's keys are in backoff.go
	"environment_file", // dotenv.go
}

// buildDrover reads drover's options of one [program:x] section.
func (l *loader) buildDrover(g *getter) Drover {
	d := Drover{SocketUID: -1, SocketGID: -1}
	if name, ok := g.str("server"); ok {
		p, err := LookupPreset(strings.TrimSpace(name))
		if err != nil {
			g.fail("server", verr("%q is not a known server: use %s", name, presetNames()))
		} else {
			d.Server = p
		}
	}
	if v, ok := g.str("sockets"); ok {
		specs, err := ParseSockets(v)
		if err != nil {
			g.fail("sockets", verr("%v", err))
		}
		d.Sockets = specs
	}
	if n, ok := conv(g, "socket_backlog", pyInt); ok {
		if n < 1 || n > MaxBacklog {
			g.failf("socket_backlog", "%d is out of range: use 1 to %d", n, MaxBacklog)
		}
		d.SocketBacklog = int(n)
	}
	d.SocketMode, _ = conv(g, "socket_mode", octal)
	if o, ok := g.str("socket_owner"); ok {
		uid, gid, err := l.userGroup(o)
		if err != nil {
			g.fail("socket_owner", err)
		}
		d.SocketOwner, d.SocketUID, d.SocketGID = o, uid, gid
	}
	if v, ok := g.str("reload"); ok {
		s, err := ParseReloadStrategy(v)
		if err != nil {
			g.failf("reload", "%q is not a reload strategy: use bluegreen, signal, reexec or restart", v)
		}
		d.Reload = s
	}
	d.ReloadSignal, _ = conv(g, "reload_signal", signalNumber)
	d.GracefulStopSignal, _ = conv(g, "graceful_stop_signal", signalNumber)
	if v, ok := g.str("ready"); ok {
		r, err := ParseReady(v)
		if err != nil {
			g.fail("ready", verr("%v", err))
		}
		d.Ready = r
	}
	d.ReadyTimeout = seconds(g, "ready_timeout")
	d.GracefulTimeout = seconds(g, "graceful_timeout")
	d.Pidfile, _ = g.str("pidfile")
	d.Limits = buildLimits(g)
	d.Container = buildContainer(g, g.bool("redirect_stderr"))
	if v, ok := g.str("depends_on"); ok {
		deps, err := parseDependsOn(v)
		if err != nil {
			g.fail("depends_on", err)
		}
		d.DependsOn, d.DependsOnPos = deps, g.pos("depends_on")
	}
	d.Backoff = buildBackoff(g)
	if d.Backoff.FatalRetry > 0 && d.Container.ExitDaemonOn == ExitDaemonFatal {
		g.warn("fatal_retry", "has no effect with exit_daemon_on = fatal (the daemon exits at the first FATAL)")
	}
	droverDefaults(&d)
	d.Health = buildHealth(g, d)
	limitWarnings(g, d)
	if warns, err := d.Ready.Validate(d.Sockets); err != nil {
		g.fail("ready", verr("%v", err))
	} else {
		for _, w := range warns {
			g.warn("ready", w)
		}
	}
	if d.Reload == ReloadBlueGreen && len(d.Sockets) == 0 {
		g.failf("reload", "bluegreen needs sockets= (drover must own the listening sockets to hand them over)")
	}
	if d.Reload == ReloadSignal || d.Reload == ReloadReexec {
		if d.ReloadSignal == 0 {
			g.failf("reload", "%s needs reload_signal= (or a server= preset that has one)", d.Reload)
		}
	}
	return d
}

// droverDefaults sets every default of drover's options in one place: the
// preset's signals and readiness (the plain preset's without server=),
// blue/green when drover owns sockets.
func droverDefaults(d *Drover) {
	p := d.Server
	if p.Name == "" {
		p, _ = LookupPreset("")
	}
	if d.SocketBacklog == 0 {
		d.SocketBacklog = DefaultBacklog
	}
	if d.SocketMode == 0 {
		d.SocketMode = DefaultSocketMode
	}
	if d.GracefulStopSignal == 0 {
		d.GracefulStopSignal = p.GracefulStop
	}
	if d.GracefulStopSignal == 0 {
		d.GracefulStopSignal = syscall.SIGTERM
	}
	if d.GracefulTimeout == 0 {
		d.GracefulTimeout = 30 * time.Second
	}
	if d.ReadyTimeout == 0 {
		d.ReadyTimeout = 60 * time.Second
	}
	// A preset's probe-socket readiness needs a server started on the
	// inherited sockets, which only sockets= implies: a server binding
	// its own port closes the unused probe socket (puma does), and the
	// probe would never answer.
	if d.Ready.Kind == "" && p.Ready != "" && (len(d.Sockets) > 0 || !strings.Contains(p.Ready, ReadyProbeHost)) {
		d.Ready, _ = ParseReady(p.Ready) // every preset's parses (TestPresets)
	}
	if d.Reload == "" {
		switch {
		case len(d.Sockets) > 0 && p.Strategy != "":
			d.Reload = p.Strategy
		case len(d.Sockets) > 0:
			d.Reload = ReloadBlueGreen
		default:
			d.Reload = ReloadRestart
		}
	}
	if d.ReloadSignal == 0 {
		switch d.Reload {
		case ReloadSignal:
			d.ReloadSignal = p.Reload
		case ReloadReexec:
			d.ReloadSignal = p.Reexec
		}
	}
}

// seconds reads a whole number of seconds (like startsecs).
func seconds(g *getter, key string) time.Duration {
	n, ok := conv(g, key, pyInt)
	if !ok {
		return 0
	}
	if n < 0 {
		g.failf(key, "%d is negative", n)
		return 0
	}
	return time.Duration(n) * time.Second
}

func presetNames() string {
	names := make([]string, len(Presets))
	for i, p := range Presets {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

func (d Drover) equal(e Drover) bool {
	return slices.Equal(d.Sockets, e.Sockets) && d.SocketBacklog == e.SocketBacklog &&
		d.SocketMode == e.SocketMode && d.SocketOwner == e.SocketOwner && d.SocketUID == e.SocketUID &&
		d.SocketGID == e.SocketGID && d.Server.Name == e.Server.Name &&
		d.Reload == e.Reload && d.ReloadSignal == e.ReloadSignal && d.Ready.String() == e.Ready.String() &&
		d.ReadyTimeout == e.ReadyTimeout && d.GracefulStopSignal == e.GracefulStopSignal &&
		d.GracefulTimeout == e.GracefulTimeout && d.Pidfile == e.Pidfile && d.Limits == e.Limits &&
		d.Container == e.Container && dependsEqual(d.DependsOn, e.DependsOn) && d.Backoff == e.Backoff &&
		slices.Equal(d.EnvFiles, e.EnvFiles) && d.Health.equal(e.Health)
}
