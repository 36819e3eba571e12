package config

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// presetTraps warns (with file:line) about what would defeat a server=
// preset: a readiness the server cannot give or cannot be trusted with, a
// stop signal that kills it outright, and a command that does not start it
// on the sockets drover passes. Each trap is one the preset's Usage or the
// zero-downtime reference describes; supervisord has no server=, so none
// of this changes what it would accept.
func (l *loader) presetTraps(g *getter, p *Process) {
	d := p.Drover
	srv := d.Server
	if srv.Name == "" {
		return
	}
	warn := func(key, format string, a ...any) { g.warn(key, fmt.Sprintf(format, a...)) }

	if d.Ready.Kind == ReadyNotify && g.has("ready") {
		switch srv.Name {
		case "puma":
			warn("ready", "puma 5 sends READY=1 only with the sd_notify gem (Debian's puma 5.6.5 has none): without it the program never leaves STARTING and is killed at ready_timeout, again and again; use ready = http://{probe}/ (the puma preset's default)")
		case "gunicorn":
			warn("ready", "gunicorn sends READY=1 before it imports the app, so it proves nothing about the app; use ready = http://{probe}/path")
		}
	}
	for _, key := range []string{"stopsignal", "graceful_stop_signal"} {
		sig := p.StopSignal
		if key == "graceful_stop_signal" {
			sig = d.GracefulStopSignal
		}
		if !g.has(key) || sig == srv.GracefulStop {
			continue
		}
		if why := srv.signalTrap(sig); why != "" {
			warn(key, "%s %s; %s stops gracefully on %s", SignalName(sig), why, srv.Name, SignalName(srv.GracefulStop))
		}
	}
	if d.Reload == ReloadSignal && g.has("reload_signal") && d.ReloadSignal != srv.Reload {
		if why := srv.signalTrap(d.ReloadSignal); why != "" {
			warn("reload_signal", "%s %s; %s reloads in place on %s", SignalName(d.ReloadSignal), why, srv.Name, SignalName(srv.Reload))
		}
	}
	if d.Reload == ReloadReexec && srv.Name == "gunicorn" && len(d.Sockets) > 0 {
		warn("reload", "gunicorn 20.1's own re-exec (USR2) fails with inherited sockets (Errno 88): keep reload = bluegreen on sockets=, or bind in gunicorn without sockets=")
	}
	if len(d.Sockets) > 0 && d.Ready.Kind == "" {
		warn("server", "no ready=: a new generation counts as ready after startsecs (%v) and gets the traffic whether it serves or not; use ready = http://{probe}/path", p.StartSecs)
	}
	if len(d.Sockets) == 0 || len(p.Argv) == 0 {
		return
	}
	args := p.Argv[1:]
	switch srv.Name {
	case "puma":
		if !hasFlag(args, "--bind-to-activated-sockets") {
			warn("command", "puma without --bind-to-activated-sockets only closes the inherited sockets it was not told to bind, the probe socket too, and binds its own; add --bind-to-activated-sockets only (or bind_to_activated_sockets 'only' in its -C file)")
		}
	case "gunicorn":
		for _, v := range flagValues(args, "-b", "--bind") {
			if !strings.HasPrefix(v, "fd://") {
				warn("command", "gunicorn ignores -b %s when drover passes LISTEN_FDS (it serves sockets= and the probe socket instead): drop it", v)
			}
		}
		if hasFlag(args, "-p", "--pid") {
			warn("command", "gunicorn --pid: a new generation finds the old one's pid in the file and refuses to start; drop it (drover knows the pid)")
		}
		for _, v := range flagValues(args, "--graceful-timeout") {
			if n, err := strconv.Atoi(v); err == nil && time.Duration(n)*time.Second > d.GracefulTimeout {
				warn("command", "gunicorn --graceful-timeout %s is longer than graceful_timeout (%v): drover kills the old generation before gunicorn's own graceful stop ends", v, d.GracefulTimeout)
			}
		}
		if hasFlag(args, "-D", "--daemon") {
			warn("command", "gunicorn --daemon detaches from drover, which then sees it exit; drop it")
		}
	case "starman":
		if hasFlag(args, "--listen", "-l", "--port", "--host") {
			warn("command", "starman takes its sockets from SERVER_STARTER_PORT under drover: --listen/--port do not choose what it serves; drop them")
		}
		if hasFlag(args, "--pid") {
			warn("command", "starman --pid: generations would share one pidfile; drop it (drover knows the pid)")
		}
		if hasFlag(args, "--daemonize", "-D") {
			warn("command", "starman --daemonize detaches from drover, which then sees it exit; drop it")
		}
		if !hasFlag(args, "--disable-keepalive") {
			warn("command", "starman without --disable-keepalive: a worker keeps a keep-alive connection after QUIT for as long as its client sends, so the old generation ends only when killed at graceful_timeout, cutting requests in flight")
		}
		if p.StopAsGroup {
			warn("stopasgroup", "starman's workers stop mid-request on QUIT: the master must get it alone; drop stopasgroup")
		}
		for _, s := range d.Sockets {
			if s.Network != TCP {
				warn("sockets", "starman treats every inherited socket as TCP: connections to %s are reset; use TCP sockets", s)
			}
		}
	case "unicorn":
		for _, v := range flagValues(args, "-l", "--listen", "-p", "--port") {
			if !listensOn(d.Sockets, v) {
				warn("command", "unicorn -l %s is not one of sockets=: unicorn binds it itself, so a new generation cannot while the old one runs, and a HUP closes the inherited sockets; drop -l", v)
			}
		}
		if hasFlag(args, "-D", "--daemonize") {
			warn("command", "unicorn -D detaches from drover, which then sees it exit; drop it")
		}
		if hasFlag(args, "-P", "--pid") {
			warn("command", "unicorn -P: a new generation finds the old one's pid in the file and refuses to start; drop it (drover knows the pid)")
		}
	}
}

// signalTrap says why sig must not stop this server, "" if it may.
func (p Preset) signalTrap(sig syscall.Signal) string {
	switch {
	case sig == p.ImmediateStop:
		return fmt.Sprintf("is %s's immediate stop: requests in flight fail", p.Name)
	case slices.Contains(p.Deadly, sig):
		return fmt.Sprintf("is not handled by %s: it dies at once, requests in flight fail", p.Name)
	case slices.Contains(p.Never, sig):
		return fmt.Sprintf("is one %s must never get (it stops it, drops requests or re-execs it)", p.Name)
	}
	return ""
}

// hasFlag reports whether any of flags is in args, alone, as --flag=value,
// or (one-letter flags) with the value glued on (-l127.0.0.1:80).
func hasFlag(args []string, flags ...string) bool {
	for _, a := range args {
		for _, f := range flags {
			if a == f || strings.HasPrefix(a, f+"=") || (len(f) == 2 && f[1] != '-' && strings.HasPrefix(a, f)) {
				return true
			}
		}
	}
	return false
}

// flagValues returns the values given to any of flags in args.
func flagValues(args []string, flags ...string) []string {
	var vals []string
	for i, a := range args {
		for _, f := range flags {
			switch {
			case a == f && i+1 < len(args):
				vals = append(vals, args[i+1])
			case strings.HasPrefix(a, f+"="):
				vals = append(vals, a[len(f)+1:])
			case len(f) == 2 && len(a) > 2 && strings.HasPrefix(a, f):
				vals = append(vals, a[2:])
			}
		}
	}
	return vals
}

// listensOn reports whether a unicorn listen address names one of socks
// ("host:port", ":port", "port" or a unix path, unix: prefix allowed).
func listensOn(socks []Socket, addr string) bool {
	addr = strings.TrimPrefix(addr, "unix:")
	for _, s := range socks {
		switch {
		case s.Network != TCP && filepath.Clean(s.Path) == filepath.Clean(addr):
			return true
		case s.Network == TCP && (s.AddrPort.String() == addr ||
			strings.TrimPrefix(addr, ":") == fmt.Sprint(s.AddrPort.Port()) && s.AddrPort.Addr().IsUnspecified()):
			return true
		}
	}
	return false
}
