package daemon

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/logfile"
	"github.com/drover-sh/drover/internal/rpc"
	"github.com/drover-sh/drover/internal/spawn"
	"github.com/drover-sh/drover/internal/supervisor"
	"golang.org/x/sys/unix"
)

// An in-place upgrade (drover upgrade, drover.upgrade) replaces the
// daemon's image by execve: the pid stays, so every child stays drover's
// child (wait4 keeps reporting exact exit statuses) and nothing is
// restarted. Order: the new binary's preflight (nothing changed if it
// fails); stop accepting control connections (they queue in the backlog);
// stop reaping (exits stay zombies); freeze the supervisor once no process
// is between states; suspend the log pump (what it read is written, the
// rest stays in the pipes); write the state; clear close-on-exec on
// exactly the handed fds; execve. If execve fails, all of it is undone.

const (
	// preflightBound is how long the new binary's probe may take.
	preflightBound = 10 * time.Second
	// settleBound is how long the upgrade waits for processes between
	// states (STARTING, STOPPING, BACKOFF, a reload) to settle.
	settleBound = 10 * time.Second
)

// HandoverProbe is the hidden subcommand a new binary's preflight runs
// (args: the state format version, the config path): it exits 0 after
// printing HandoverProbeToken and its version when it reads that format
// and can load the config.
func HandoverProbe(args []string, version string) error {
	if len(args) != 2 {
		return errors.New("usage: " + HandoverProbeArg + " VERSION CONFIG")
	}
	if v, err := strconv.Atoi(args[0]); err != nil || !readsHandover(v) {
		return fmt.Errorf("handover format %q not supported (this binary reads %d and %d)", args[0], handoverVersion, handoverVersionEvents)
	}
	if _, err := config.Load(args[1], config.Options{}); err != nil {
		return err
	}
	fmt.Println(HandoverProbeToken, version)
	return nil
}

// currentBinary is the file the running image was exec'd from; after a
// package upgrade replaced it, the new file at that path.
func currentBinary() (string, error) {
	p, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(p, " (deleted)"), nil
}

// preflight runs path's probe for handover format version and returns the
// version it reports. The probe is not waited for (the reaper reaps it):
// it must print the token and close its output within preflightBound.
func preflight(path, cfgPath string, version int) (string, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return "", err
	}
	defer r.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		w.Close()
		return "", err
	}
	defer devnull.Close()
	p, err := os.StartProcess(path, []string{path, HandoverProbeArg, strconv.Itoa(version), cfgPath},
		&os.ProcAttr{Files: []*os.File{devnull, w, w}})
	w.Close()
	if err != nil {
		return "", err
	}
	defer p.Release()
	_ = r.SetReadDeadline(time.Now().Add(preflightBound))
	var out strings.Builder
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
	}
	if err := sc.Err(); err != nil {
		_ = p.Kill()
		return "", fmt.Errorf("no answer within %v", preflightBound)
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if v, ok := strings.CutPrefix(line, HandoverProbeToken+" "); ok {
			return v, nil
		}
	}
	msg := strings.TrimSpace(out.String())
	if msg == "" {
		msg = "it exited without a word"
	}
	return "", fmt.Errorf("it cannot take over: %s", msg)
}

// Upgrade is drover.upgrade: the preflight on the caller's goroutine, the
// rest on the lifecycle goroutine, which answers once control connections
// queue for the next image.
func (b backend) Upgrade(ctx context.Context, path string) (rpc.UpgradeResult, error) {
	var err error
	if path == "" {
		if path, err = currentBinary(); err != nil {
			return rpc.UpgradeResult{}, supervisor.NewFault(supervisor.CodeFailed, "upgrade: "+err.Error())
		}
	}
	if !strings.HasPrefix(path, "/") {
		return rpc.UpgradeResult{}, supervisor.NewFault(supervisor.CodeFailed, "upgrade: the binary's path must be absolute: "+path)
	}
	// The format the state will be in: with event listeners, the new
	// binary must read their protocol state too.
	format := handoverVersion
	if hasListeners(b.d.running()) {
		format = handoverVersionEvents
	}
	to, err := preflight(path, b.d.path, format)
	if err != nil {
		b.d.log.Error(fmt.Sprintf("upgrade to %s refused: %v", path, err))
		return rpc.UpgradeResult{}, supervisor.NewFault(supervisor.CodeFailed, fmt.Sprintf("upgrade to %s refused, nothing changed: %v", path, err))
	}
	reply := make(chan lifecycleRes, 1)
	select {
	case b.d.lifecycle <- lifecycleReq{kind: reqUpgrade, path: path, format: format, reply: reply}:
	case <-b.d.loopDone:
		return rpc.UpgradeResult{}, errExiting
	case <-ctx.Done():
		return rpc.UpgradeResult{}, ctx.Err()
	}
	select {
	case r := <-reply:
		if r.err != nil {
			return rpc.UpgradeResult{}, supervisor.NewFault(supervisor.CodeFailed, "upgrade: "+r.err.Error())
		}
	case <-b.d.loopDone:
		return rpc.UpgradeResult{}, errExiting
	}
	return rpc.UpgradeResult{Path: path, From: b.d.opts.Version, To: to, Pid: os.Getpid()}, nil
}

// upgrade runs on the lifecycle goroutine with sup serving. It returns
// only when the upgrade did not happen (everything resumed).
func (d *daemon) upgrade(sup *supervisor.Supervisor, r lifecycleReq) {
	// Settled first, with exits still reaped and control still served (a
	// STOPPING process needs its exit to settle); the Freeze below, after
	// the reaper stopped, then finds it settled unless an exit came in
	// between.
	ctx, cancel := context.WithTimeout(context.Background(), settleBound)
	_, resume, err := sup.Freeze(ctx)
	cancel()
	if err != nil {
		r.answer(lifecycleRes{err: err})
		return
	}
	resume()
	det, err := d.server.Detach()
	if err != nil {
		r.answer(lifecycleRes{err: err})
		return
	}
	r.answer(lifecycleRes{}) // its connection is still open: Finish waits for it
	begun := time.Now()
	det.Finish()
	d.reaper.Halt()
	<-d.routed // every exit reaped so far reached sup
	undo := []func(){func() {
		d.startReaper()
		if err := d.server.Attach(listeners(d.running().Servers), det.Handed); err != nil {
			d.log.Error(fmt.Sprintf("could not serve the control server again: %v", err))
		}
	}}
	fail := func(err error) {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		d.log.Error(fmt.Sprintf("upgrade to %s failed, this daemon goes on: %v", r.path, err))
	}
	ctx, cancel = context.WithTimeout(context.Background(), settleBound)
	recs, resume, err := sup.Freeze(ctx)
	cancel()
	if err != nil {
		fail(err)
		return
	}
	undo = append(undo, resume)
	fds := d.host.pump.Suspend()
	undo = append(undo, d.host.pump.Resume)
	st, err := d.handoverState(recs, fds, det.Handed)
	if err != nil {
		fail(err)
		return
	}
	if listenerRuns(recs) {
		if r.format != handoverVersionEvents {
			fail(errors.New("an event listener started after the new binary's preflight: upgrade again"))
			return
		}
		// After the pump's suspend: every listener output it read is
		// already queued to the dispatcher, ahead of this.
		ctx, cancel := context.WithTimeout(context.Background(), settleBound)
		snap, err := d.now.Load().ev.Freeze(ctx)
		cancel()
		if err != nil {
			fail(err)
			return
		}
		undo = append(undo, d.now.Load().ev.Thaw)
		st.Events, st.Version = &snap, handoverVersionEvents
	}
	memfd, err := writeHandover(st)
	if err != nil {
		fail(err)
		return
	}
	undo = append(undo, func() { _ = unix.Close(memfd) })
	handed := append(st.fds(), memfd)
	if err := setCloexec(handed, false); err != nil {
		_ = setCloexec(handed, true)
		fail(err)
		return
	}
	running := 0
	for _, p := range st.Procs {
		if p.Pid > 0 {
			running++
		}
	}
	d.log.Info(fmt.Sprintf("upgrading in place to %s: handing over %d processes (%d running) after %v",
		r.path, len(st.Procs), running, time.Since(begun).Round(time.Millisecond)))
	d.host.keeper.flush() // its connection closes with the exec
	env := append(os.Environ(), handoverEnv+"="+strconv.Itoa(memfd))
	err = syscall.Exec(r.path, os.Args, env)
	_ = setCloexec(handed, true)
	fail(fmt.Errorf("execve %s: %w", r.path, err))
}

// handoverState describes the frozen table with the fds to hand over.
func (d *daemon) handoverState(recs []supervisor.ProcRecord, pumpFDs map[logfile.Handle]int, control []rpc.HandedListener) (*handoverState, error) {
	st := &handoverState{Version: handoverVersion, FromVersion: d.opts.Version, Control: control}
	for _, rec := range recs {
		hp := handedProc{ProcRecord: rec, Stdin: -1, Stdout: -1, Stderr: -1}
		if ps, ok := rec.Sockets.(*programSockets); ok && ps.serving != nil {
			hs, _, err := ps.serving.Export()
			switch {
			case err == nil:
				hp.Sockets = hs
			case rec.Pid > 0:
				return nil, fmt.Errorf("%s: its sockets: %w", rec.Name, err)
			}
		}
		if rec.Pid > 0 {
			c, ok := rec.Child.(*child)
			if !ok {
				return nil, fmt.Errorf("%s: no child record", rec.Name)
			}
			hp.KeeperPid = c.pid
			if c.stdin != nil {
				fd, err := rawFD(c.stdin)
				if err != nil {
					return nil, err
				}
				hp.Stdin = fd
			}
			var ok1, ok2 bool
			hp.Stdout, ok1 = pumpFDs[c.out.stdout]
			if !ok1 {
				hp.Stdout = -1
			}
			hp.Stderr, ok2 = pumpFDs[c.out.stderr]
			if !ok2 || c.out.stderr == 0 {
				hp.Stderr = -1
			}
		}
		hp.ProcRecord.Child, hp.ProcRecord.Sockets = nil, nil
		st.Procs = append(st.Procs, hp)
	}
	return st, nil
}

// rawFD is f's descriptor, without the blocking mode Fd would set.
func rawFD(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	if err := rc.Control(func(s uintptr) { fd = int(s) }); err != nil {
		return -1, err
	}
	return fd, nil
}

// startReaper starts reaping and routing exits to the current supervisor
// (setup, and again after an upgrade that did not happen).
func (d *daemon) startReaper() {
	d.reaper = spawn.NewReaper(64)
	d.routed = make(chan struct{})
	go d.routeExits(d.routed)
}

// listenerRuns reports whether one of recs is a running event listener,
// whose protocol state the handover must carry.
func listenerRuns(recs []supervisor.ProcRecord) bool {
	for _, r := range recs {
		if c, ok := r.Child.(*child); ok && r.Pid > 0 && c.ev != nil {
			return true
		}
	}
	return false
}

// hasListeners reports whether cfg has an event listener pool.
func hasListeners(cfg *config.Config) bool {
	for _, g := range cfg.Groups {
		if g.Kind == config.KindEventListener {
			return true
		}
	}
	return false
}
