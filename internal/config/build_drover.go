package config

import (
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/drover-sh/drover/internal/reload"
)

// droverOptions are drover's own [program:x] keys (zero-downtime reloads).
// supervisord ignores unknown keys, so they never break a file there; drover
// knows them, so they are not warned about. Their defaults depend on the
// server preset and on sockets=, so they are set in droverDefaults, not in
// optionDefaults.
var droverOptions = []string{
	"sockets", "socket_backlog", "socket_mode", "socket_owner", "server", "reload",
	"reload_signal", "ready", "ready_timeout", "graceful_stop_signal", "graceful_timeout", "pidfile",
}

// buildDrover reads drover's options of one [program:x] section.
func (l *loader) buildDrover(g *getter) Drover {
	d := Drover{SocketUID: -1, SocketGID: -1}
	preset := reload.Preset{}
	if name, ok := g.str("server"); ok {
		p, err := reload.LookupPreset(strings.TrimSpace(name))
		if err != nil {
			g.fail("server", verr("%q is not a known server: use %s", name, presetNames()))
		} else {
			preset, d.Server = p, p.Name
		}
	}
	if v, ok := g.str("sockets"); ok {
		specs, err := reload.ParseSockets(v)
		if err != nil {
			g.fail("sockets", verr("%v", err))
		}
		for _, s := range specs {
			d.Sockets = append(d.Sockets, s.String())
		}
	}
	if n, ok := conv(g, "socket_backlog", pyInt); ok {
		if n < 1 || n > reload.MaxBacklog {
			g.failf("socket_backlog", "%d is out of range: use 1 to %d", n, reload.MaxBacklog)
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
		switch s := reload.Strategy(strings.ToLower(strings.TrimSpace(v))); s {
		case reload.BlueGreen, reload.InPlace, reload.Reexec, reload.Restart:
			d.Reload = string(s)
		default:
			g.failf("reload", "%q is not a reload strategy: use bluegreen, signal, reexec or restart", v)
		}
	}
	d.ReloadSignal, _ = conv(g, "reload_signal", signalNumber)
	d.GracefulStopSignal, _ = conv(g, "graceful_stop_signal", signalNumber)
	if v, ok := g.str("ready"); ok {
		r, err := reload.ParseReady(strings.TrimSpace(v))
		if err != nil {
			g.fail("ready", verr("%v", err))
		} else {
			d.Ready = r.String()
		}
	}
	d.ReadyTimeout = seconds(g, "ready_timeout")
	d.GracefulTimeout = seconds(g, "graceful_timeout")
	d.Pidfile, _ = g.str("pidfile")
	droverDefaults(&d, preset)
	if d.Reload == string(reload.BlueGreen) && len(d.Sockets) == 0 {
		g.failf("reload", "bluegreen needs sockets= (drover must own the listening sockets to hand them over)")
	}
	if d.Reload == string(reload.InPlace) || d.Reload == string(reload.Reexec) {
		if d.ReloadSignal == 0 {
			g.failf("reload", "%s needs reload_signal= (or a server= preset that has one)", d.Reload)
		}
	}
	return d
}

// droverDefaults sets every default of drover's options in one place: the
// preset's signals and readiness, blue/green when drover owns sockets.
func droverDefaults(d *Drover, p reload.Preset) {
	if d.SocketBacklog == 0 {
		d.SocketBacklog = reload.DefaultBacklog
	}
	if d.SocketMode == 0 {
		d.SocketMode = reload.DefaultSocketMode
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
	if d.Ready == "" {
		d.Ready = p.Ready
	}
	if d.Reload == "" {
		switch {
		case len(d.Sockets) > 0 && p.Strategy != "":
			d.Reload = string(p.Strategy)
		case len(d.Sockets) > 0:
			d.Reload = string(reload.BlueGreen)
		default:
			d.Reload = string(reload.Restart)
		}
	}
	if d.ReloadSignal == 0 {
		switch reload.Strategy(d.Reload) {
		case reload.InPlace:
			d.ReloadSignal = p.Reload
		case reload.Reexec:
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
	names := make([]string, len(reload.Presets))
	for i, p := range reload.Presets {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

func (d Drover) equal(e Drover) bool {
	return slices.Equal(d.Sockets, e.Sockets) && d.SocketBacklog == e.SocketBacklog &&
		d.SocketMode == e.SocketMode && d.SocketOwner == e.SocketOwner && d.SocketUID == e.SocketUID &&
		d.SocketGID == e.SocketGID && d.Server == e.Server &&
		d.Reload == e.Reload && d.ReloadSignal == e.ReloadSignal && d.Ready == e.Ready &&
		d.ReadyTimeout == e.ReadyTimeout && d.GracefulStopSignal == e.GracefulStopSignal &&
		d.GracefulTimeout == e.GracefulTimeout && d.Pidfile == e.Pidfile
}
