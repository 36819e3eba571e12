package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/events"
	"github.com/drover-sh/drover/internal/reload"
	"github.com/drover-sh/drover/internal/spawn"
	"github.com/drover-sh/drover/internal/supervisor"
)

// Spawn starts one generation through the spawn shim: environment, the
// listeners it inherits (fd 3 onward, LISTEN_FDS) and its readiness probe,
// stdio pipes into the log pump. What it made is the returned child's,
// which the supervisor owns.
func (h *host) Spawn(req supervisor.SpawnRequest) (supervisor.Child, error) {
	h.slots <- struct{}{}
	defer func() { <-h.slots }()
	p := req.Process
	path, err := h.resolve(p)
	if err != nil {
		return nil, err
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

	probe, err := h.prepareProbe(p)
	if err != nil {
		return nil, err
	}
	inh, err := reload.Assemble(req.Listeners, probe, p.Drover.Server, req.Generation)
	if err != nil {
		closeProbe(probe)
		return nil, err
	}
	defer inh.Close() // the child holds its own copies once started
	pipes, err := h.openPipes(p)
	if err != nil {
		closeProbe(probe)
		return nil, &spawn.Error{Step: "pipe", Err: err}
	}
	pid, err := spawn.Start(&spawn.Spec{
		Path:        path,
		Argv:        p.Argv,
		Env:         withEnv(env, inh.Env),
		Dir:         p.Directory,
		User:        user,
		Umask:       p.Umask,
		Stdin:       pipes.childStdin,
		Stdout:      pipes.childStdout,
		Stderr:      pipes.childStderr,
		ExtraFiles:  inh.Files,
		ListenFDs:   len(inh.Files),
		ListenNames: inh.Names,
		Direct:      h.direct,
		Forkers:     h.forkers,
	})
	// The child holds its ends now (or never will): the parent's copies go.
	pipes.closeChildEnds()
	if pid == 0 {
		closeProbe(probe)
		pipes.closeParentEnds()
		return nil, err
	}
	c := &child{pid: pid}
	if err != nil {
		// A shim that failed before exec: its output is still captured
		// until it exits; nothing else is kept.
		closeProbe(probe)
		pipes.stdin.Close()
		h.pumpOutput(p, req.Logs, pid, pipes, nil)
		return c, err
	}
	c.stdin = pipes.stdin
	c.api = newStdinWriter(c.stdin)
	h.keep(c, pipes)
	var hook func([]byte)
	if probe != nil {
		probe.Started()
		c.exited = make(chan struct{})
		c.probe, c.gen = probe, reload.Gen{Number: req.Generation, Pid: pid, Exited: c.exited}
		hook = probe.LogHook()
	}
	if h.ev != nil && p.EventListener {
		c.ev = h.ev
		h.ev.Spawned(p.Group, p.Name, pid, c.stdin) // before the pump reads its output
	}
	c.out = h.pumpOutput(p, req.Logs, pid, pipes, hook)
	return c, nil
}

// prepareProbe makes the readiness probe of one generation of p; nil
// without ready=.
func (h *host) prepareProbe(p *config.Process) (*reload.GenProbe, error) {
	if p.Drover.Ready.Kind == "" {
		return nil, nil
	}
	dir, err := h.notify.get()
	if err != nil {
		return nil, err
	}
	probe, err := reload.Prepare(p.Drover.Ready, reload.PrepareOptions{Dir: dir, Logger: h.log})
	if err != nil {
		return nil, fmt.Errorf("could not prepare the readiness probe of '%s': %w", p.Name, err)
	}
	return probe, nil
}

func closeProbe(p *reload.GenProbe) {
	if p != nil {
		p.Close()
	}
}

// child is one spawned generation's OS resources (supervisor.Child): the
// write end of its stdin, its readiness probe and its registration as an
// event listener. The supervisor's goroutine owns it; WaitReady and writes
// to Stdin come from other goroutines, which the probe and *os.File allow.
type child struct {
	pid    int
	stdin  *os.File
	api    *stdinWriter // stdin as sendProcessStdin writes it
	probe  *reload.GenProbe
	gen    reload.Gen    // what the probe waits on
	exited chan struct{} // with a probe: closed by Exited, ends a WaitReady
	ev     *events.Dispatcher
	out    pumped // the pump's handles of its output pipes
	keeper *keeperConn
}

func (c *child) Pid() int { return c.pid }

// Exited releases everything; it is called once.
func (c *child) Exited() {
	if c.exited != nil {
		close(c.exited)
	}
	closeProbe(c.probe)
	if c.stdin != nil {
		c.stdin.Close()
	}
	if c.ev != nil {
		c.ev.Exited(c.pid)
	}
	c.keeper.drop(keeperKey(c.pid))
}

// WaitReady waits for the generation's probe; a generation spawned without
// ready=, or already gone, is ready at once.
func (c *child) WaitReady(ctx context.Context) error {
	if c.probe == nil {
		return nil
	}
	select {
	case <-c.exited:
		return nil // its exit decides, with its status
	default:
	}
	err := c.probe.Wait(ctx, c.gen)
	if errors.Is(err, reload.ErrExited) {
		return fmt.Errorf("%w: %w", supervisor.ErrExitedBeforeReady, err)
	}
	return err
}

// RearmReady makes the generation's sd_notify state forget READY=1 before
// an in-place reload signal, so the reload waits for the READY=1 that
// follows it. Other probes (http, tcp, log, uptime) cannot tell before
// from after in place; they answer at once.
func (c *child) RearmReady() {
	if c.probe == nil {
		return
	}
	n := c.probe.Notify()
	if n == nil {
		return
	}
	// A Wait binds the socket to the generation and judges the messages
	// held until then (READY=1 from the start, when nobody waited at
	// startup); with a done context it returns at once.
	done, cancel := context.WithCancel(context.Background())
	cancel()
	_ = n.Wait(done, c.gen)
	n.Reset()
}

func (c *child) Stdin() io.Writer {
	if c.api == nil {
		return nil // not a nil pointer in an interface
	}
	return c.api
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
