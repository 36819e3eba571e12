package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/reload"
	"github.com/drover-sh/drover/internal/supervisor"
)

// What a program with drover's own options gets at every spawn: the
// listening sockets drover owns for the program's lifetime (bound once,
// passed to every generation from fd 3 with LISTEN_FDS), its generation
// number, and a readiness probe the supervisor waits on.

// owned is one program's sockets and generation counter, by process key.
type owned struct {
	specs []string
	set   *reload.Set // the serving listeners; a respawn inherits them
	gen   int
	// users counts the live generations holding each Set: set, and the
	// Siblings of blue/green hand-offs (steer.go).
	users map[*reload.Set]int
}

// liveProbe is the readiness check of one spawned generation.
type liveProbe struct {
	probe  *reload.GenProbe
	gen    reload.Gen
	exited chan struct{}
}

// genSetup is what prepareGen made for one spawn.
type genSetup struct {
	inh   *reload.Inheritance
	probe *reload.GenProbe
	gen   int
	o     *owned
	set   *reload.Set // what the child inherits: o.set or a Sibling
}

func processKey(p *config.Process) string { return p.Group + ":" + p.Name }

// prepareGen binds p's sockets on first use (again when sockets= changed),
// counts the generation and assembles what the child inherits.
func (h *osHost) prepareGen(p *config.Process) (*genSetup, error) {
	d := p.Drover
	h.mu.Lock()
	o := h.owned[processKey(p)]
	if o == nil {
		o = &owned{}
		h.owned[processKey(p)] = o
	}
	if !slices.Equal(o.specs, d.Sockets) {
		if o.set != nil {
			o.set.Close()
			o.set = nil
		}
		if len(d.Sockets) > 0 {
			specs, err := reload.ParseSockets(strings.Join(d.Sockets, ","))
			if err == nil {
				so := reload.SocketOptions{Backlog: d.SocketBacklog, Mode: d.SocketMode}
				if d.SocketUID >= 0 {
					so.Owner = &reload.Owner{UID: d.SocketUID, GID: d.SocketGID}
				}
				o.set, err = reload.Bind(specs, so)
			}
			if err != nil {
				h.mu.Unlock()
				return nil, fmt.Errorf("could not bind sockets of '%s': %w", p.Name, err)
			}
		}
		o.specs = slices.Clone(d.Sockets)
	}
	o.gen++
	set, gen := h.listenersFor(p, o), o.gen
	h.mu.Unlock()

	preset, _ := reload.LookupPreset(d.Server) // validated by config; zero for none
	var probe *reload.GenProbe
	if d.Ready != "" {
		r, err := reload.ParseReady(d.Ready)
		if err != nil {
			return nil, err
		}
		dir, err := h.notifyDir()
		if err != nil {
			return nil, err
		}
		if probe, err = r.Prepare(reload.PrepareOptions{Dir: dir, Logger: h.log}); err != nil {
			return nil, fmt.Errorf("could not prepare the readiness probe of '%s': %w", p.Name, err)
		}
	}
	inh, err := reload.Assemble(set, probe, preset, gen)
	if err != nil {
		if probe != nil {
			probe.Close()
		}
		h.dropListeners(o, set)
		return nil, err
	}
	return &genSetup{inh: inh, probe: probe, gen: gen, o: o, set: set}, nil
}

// started records a spawned generation's probe, or drops it when the spawn
// failed or the child is already gone.
func (h *osHost) started(gs *genSetup, pid int, err error, gone bool) {
	gs.inh.Close() // the child holds its own copies now
	h.listenersStarted(gs, pid, err == nil && pid != 0 && !gone)
	if gs.probe == nil {
		return
	}
	if err != nil || pid == 0 || gone {
		gs.probe.Close()
		return
	}
	gs.probe.Started()
	lp := &liveProbe{probe: gs.probe, exited: make(chan struct{})}
	lp.gen = reload.Gen{Number: gs.gen, Pid: pid, Exited: lp.exited}
	h.mu.Lock()
	h.probes[pid] = lp
	h.mu.Unlock()
}

// probeExited ends the probe of a generation whose main process exited.
func (h *osHost) probeExited(pid int) {
	h.mu.Lock()
	lp := h.probes[pid]
	delete(h.probes, pid)
	h.mu.Unlock()
	if lp != nil {
		close(lp.exited)
		lp.probe.Close()
	}
}

// WaitReady implements supervisor.Readier: it waits for generation pid's
// probe. A generation spawned without ready= is ready at once.
func (h *osHost) WaitReady(ctx context.Context, p *config.Process, pid int) error {
	h.mu.Lock()
	lp := h.probes[pid]
	h.mu.Unlock()
	if lp == nil {
		return nil
	}
	err := lp.probe.Wait(ctx, lp.gen)
	if errors.Is(err, reload.ErrExited) {
		return fmt.Errorf("%w: %w", supervisor.ErrExitedBeforeReady, err)
	}
	return err
}

// notifyDir is the private directory for NOTIFY_SOCKETs, made on first use.
func (h *osHost) notifyDir() (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.notify == "" {
		dir, err := os.MkdirTemp("", "drover-notify-")
		if err != nil {
			return "", err
		}
		// Searchable by programs that dropped privileges, not listable.
		if err := os.Chmod(dir, 0o711); err != nil {
			return "", err
		}
		h.notify = dir
	}
	return h.notify, nil
}

// closeOwned releases every socket and probe (daemon exit).
func (h *osHost) closeOwned() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, g := range h.gens {
		g.set.Close()
	}
	clear(h.gens)
	for k, o := range h.owned {
		if o.set != nil {
			o.set.Close()
		}
		delete(h.owned, k)
	}
	if h.notify != "" {
		os.RemoveAll(h.notify)
	}
}

// withEnv returns env with extra's keys replacing existing ones: execve
// keeps duplicates and getenv takes the first, so appending is not enough.
func withEnv(env, extra []string) []string {
	if len(extra) == 0 {
		return env
	}
	keys := map[string]bool{}
	for _, kv := range extra {
		k, _, _ := strings.Cut(kv, "=")
		keys[k] = true
	}
	out := make([]string, 0, len(env)+len(extra))
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); !keys[k] {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}
