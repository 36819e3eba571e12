package config

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// ErrUnknownServer is wrapped by LookupPreset for a server= it does not know.
var ErrUnknownServer = errors.New("unknown server preset")

// ReloadStrategy is a reload strategy (reload=).
type ReloadStrategy string

// The reload strategies.
const (
	// ReloadBlueGreen starts a new generation on the same sockets, waits
	// until it is ready, then stops the old one gracefully.
	ReloadBlueGreen ReloadStrategy = "bluegreen"
	// ReloadSignal sends the server its own reload signal (same pid), then
	// waits for readiness again.
	ReloadSignal ReloadStrategy = "signal"
	// ReloadReexec sends the re-exec signal and follows the new master as
	// a subreaper.
	ReloadReexec ReloadStrategy = "reexec"
	// ReloadRestart stops and starts (downtime): supervisord's behaviour.
	ReloadRestart ReloadStrategy = "restart"
)

// ErrBadStrategy is wrapped by ParseReloadStrategy.
var ErrBadStrategy = errors.New("invalid reload strategy")

// ParseReloadStrategy parses reload=: bluegreen, signal, reexec or restart,
// in any case, surrounding spaces ignored.
func ParseReloadStrategy(s string) (ReloadStrategy, error) {
	switch st := ReloadStrategy(strings.ToLower(strings.TrimSpace(s))); st {
	case ReloadBlueGreen, ReloadSignal, ReloadReexec, ReloadRestart:
		return st, nil
	}
	return "", fmt.Errorf("%w %q: use bluegreen, signal, reexec or restart", ErrBadStrategy, s)
}

// InheritMode says how a server takes the sockets drover passes it.
type InheritMode int

// Inherit modes; a preset may combine them.
const (
	// ListenFDs: fds from 3 with LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES
	// (systemd's convention; always set when there are sockets).
	ListenFDs InheritMode = 1 << iota
	// ServerStarter: SERVER_STARTER_PORT and SERVER_STARTER_GENERATION.
	ServerStarter
)

// Preset is what drover must know about one server to reload it without
// downtime: its signals, how it inherits sockets and what can be trusted
// as ready. Values come from the project's zero-downtime reference
// (servers' sources and runs of unicorn 6.0.0, puma 5.6.5, gunicorn
// 20.1.0, starman 0.4016 on loopback).
type Preset struct {
	Name string
	// GracefulStop drains and stops a generation (the old one after a
	// hand-off). ImmediateStop stops at once (in-flight requests fail).
	GracefulStop, ImmediateStop syscall.Signal
	// Reload reloads in place without changing the main pid; 0: none.
	Reload syscall.Signal
	// Reexec makes the server exec a new master; 0: none usable.
	Reexec syscall.Signal
	// Never are signals this server must not get during a blue/green
	// reload (they drop requests, stop it, or re-exec it): the reference's
	// table, kept with the preset it belongs to.
	Never []syscall.Signal
	// Deadly are signals the server leaves unhandled, so their default
	// action kills it at once (drover check warns about them as stop
	// signals).
	Deadly []syscall.Signal
	// Inherit is how the server takes inherited sockets.
	Inherit InheritMode
	// Usage is how to start it so it uses the inherited sockets, for the
	// docs and for config warnings.
	Usage string
	// Ready is the default ready= value; "" when the server reports nothing
	// trustworthy by itself (then ready= is needed, e.g. http://{probe}/).
	Ready string
	// Strategy is the default reload strategy.
	Strategy ReloadStrategy
}

// Presets is the one table of server= values, in name order.
var Presets = []Preset{
	{
		Name: "gunicorn", GracefulStop: syscall.SIGTERM, ImmediateStop: syscall.SIGQUIT,
		Reload: syscall.SIGHUP,
		// gunicorn 20.1's own USR2 re-exec breaks with inherited fds (Errno 88).
		Reexec:   0,
		Never:    []syscall.Signal{syscall.SIGQUIT, syscall.SIGINT, syscall.SIGUSR2},
		Inherit:  ListenFDs,
		Usage:    "gunicorn app:app (LISTEN_FDS; or -b fd://3 for the first socket only); no --pid, wait graceful_timeout",
		Ready:    "", // READY=1 comes before the app is imported
		Strategy: ReloadBlueGreen,
	},
	{
		Name: "plain", GracefulStop: syscall.SIGTERM, ImmediateStop: syscall.SIGKILL,
		Inherit:  ListenFDs,
		Usage:    "any server that takes LISTEN_FDS sockets (else use the proxy mode)",
		Strategy: ReloadBlueGreen,
	},
	{
		Name: "puma", GracefulStop: syscall.SIGTERM, ImmediateStop: syscall.SIGINT,
		Reload: syscall.SIGUSR1, // phased restart: cluster mode without preload
		Reexec: syscall.SIGUSR2, // exec in place, same pid
		// puma stops on HUP unless its stdout is redirected.
		Never: []syscall.Signal{syscall.SIGHUP},
		// puma 5.6.5 traps USR1, USR2, TERM, INT, HUP (and TTIN, TTOU in
		// cluster mode); QUIT kills it outright.
		Deadly:  []syscall.Signal{syscall.SIGQUIT},
		Inherit: ListenFDs,
		Usage:   "puma -C cfg --bind-to-activated-sockets only (puma 5.0+; queue_requests false in cfg, else puma closes keep-alive connections under their clients on TERM); the default readiness GETs / on the probe socket (set ready = http://{probe}/health if / is not 2xx); ready = notify needs the sd_notify gem with puma 5 (else it logs \"Systemd integration failed\" and never sends READY=1)",
		// --bind-to-activated-sockets only serves every inherited socket,
		// the probe socket too, and answers only once the app is loaded
		// (single mode) or a worker booted (cluster mode). notify would be
		// as good, but Debian's puma 5.6.5 sends READY=1 only with the
		// sd_notify gem, which it does not ship.
		Ready:    "http://{probe}/",
		Strategy: ReloadBlueGreen,
	},
	{
		Name: "starman", GracefulStop: syscall.SIGQUIT, ImmediateStop: syscall.SIGTERM,
		Reload:   syscall.SIGHUP,
		Never:    []syscall.Signal{syscall.SIGTERM, syscall.SIGINT},
		Inherit:  ListenFDs | ServerStarter,
		Usage:    "starman app.psgi with SERVER_STARTER_PORT (drover sets it); no --pid; TCP sockets only (Net::Server::SS::PreFork treats every entry as TCP: unix connections are reset); --disable-keepalive (a starman worker keeps a keep-alive connection after QUIT for as long as its client sends, so the old generation would only end when killed at graceful_timeout, cutting requests in flight); no stopasgroup (QUIT to a worker stops it mid-request: the master must get it alone)",
		Strategy: ReloadBlueGreen,
	},
	{
		Name: "unicorn", GracefulStop: syscall.SIGQUIT, ImmediateStop: syscall.SIGTERM,
		Reload:   syscall.SIGHUP, // no new code with preload_app
		Reexec:   syscall.SIGUSR2,
		Never:    []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR2},
		Inherit:  ListenFDs,
		Usage:    "unicorn -c cfg app.ru (no -D, no shared pidfile; listen lines absent or matching the sockets)",
		Strategy: ReloadBlueGreen,
	},
}

// LookupPreset returns the preset for server=; "" is plain.
func LookupPreset(name string) (Preset, error) {
	if name == "" {
		name = "plain"
	}
	for _, p := range Presets {
		if p.Name == name {
			return p, nil
		}
	}
	names := make([]string, len(Presets))
	for i, p := range Presets {
		names[i] = p.Name
	}
	return Preset{}, fmt.Errorf("%w %q: use one of %v", ErrUnknownServer, name, names)
}
