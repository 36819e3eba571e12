package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Per-step deadlines: generous next to the goals, short enough that a
// broken daemon costs seconds, not the whole run.
const (
	firstNoteTimeout = 30 * time.Second
	respawnTimeout   = 5 * time.Second
	runningTimeout   = 10 * time.Second
	stopGrace        = 20 * time.Second
)

var errNoNote = errors.New("no notification")

// waitNote returns the next note accepted by ok, or fails when the daemon
// exits (exited may be nil), timeout passes or ctx ends.
func waitNote(ctx context.Context, n *notifier, exited <-chan struct{}, timeout time.Duration, ok func(note) bool) (note, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case nt := <-n.C:
			if ok(nt) {
				return nt, nil
			}
		case <-exited:
			return note{}, errDaemonExited
		case <-t.C:
			return note{}, fmt.Errorf("%w within %v", errNoNote, timeout)
		case <-ctx.Done():
			return note{}, ctx.Err()
		}
	}
}

// baseline times the harness itself spawning the child: fork+exec →
// the child's notify stamp. It is the floor under any supervisor's respawn.
// Each child is then SIGKILLed and the kill → exit time kept in td (the
// teardown floor).
func (h *harness) baseline(ctx context.Context) (med, mx, tdMed, tdMax *cell) {
	fail := func(err error) (med, mx, tdMed, tdMax *cell) {
		return na(shortErr(err)), na(shortErr(err)), na(shortErr(err)), na(shortErr(err))
	}
	_, n, err := h.newRun("baseline")
	if err != nil {
		return fail(err)
	}
	defer n.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return fail(err)
	}
	defer devnull.Close()
	var lat, td []float64
	for range h.opt.Reps {
		t0 := mono()
		p, err := os.StartProcess(h.self, []string{h.self, "child", n.Path},
			&os.ProcAttr{Files: []*os.File{devnull, devnull, devnull}, Sys: &syscall.SysProcAttr{Setpgid: true}})
		if err != nil {
			return fail(err)
		}
		nt, err := waitNote(ctx, n, nil, respawnTimeout, func(nt note) bool { return nt.Pid == p.Pid })
		td = append(td, teardown(p))
		if err != nil {
			return fail(err)
		}
		lat = append(lat, ms(nt.Stamp-t0))
	}
	med, mx = value(median(lat), "ms"), value(maximum(lat), "ms")
	med.Samples = lat
	tdMed, tdMax = value(median(td), "ms"), value(maximum(td), "ms")
	tdMed.Samples = td
	return med, mx, tdMed, tdMax
}

// respawn runs one program whose child notifies at start; it SIGKILLs the
// child and times kill → the next child's notify stamp, reps times. Each
// kill waits for the child's "success: ... entered RUNNING state" line
// (startsecs=1), so it hits an established process: that is the case the
// goal is about, and it keeps drover's crash-loop guard (runs shorter than
// 1 s delay the restart, a deliberate fix of supervisord #1285) out of it.
func (h *harness) respawn(ctx context.Context, t *target) (med, mx *cell) {
	fail := func(reason string) (*cell, *cell) { return na(reason), na(reason) }
	dir, n, err := h.newRun(t.Name + "-respawn")
	if err != nil {
		return fail(shortErr(err))
	}
	defer n.Close()
	conf, err := benchConfig(dir, []program{{
		Name:    "respawn",
		Command: h.self + " child " + n.Path,
		Options: []string{"autorestart=true", "startsecs=1", "startretries=3"},
	}})
	if err != nil {
		return fail(shortErr(err))
	}
	d, err := startDaemon(t, dir, conf)
	if err != nil {
		return fail(shortErr(err))
	}
	defer d.Stop(stopGrace)

	cur, err := waitNote(ctx, n, d.Exited(), firstNoteTimeout, func(note) bool { return true })
	if err != nil {
		return fail(d.Why(fmt.Errorf("first child: %w", err)))
	}
	var lat []float64
	for i := range h.opt.Reps {
		pid := cur.Pid
		lctx, cancel := context.WithTimeout(ctx, runningTimeout)
		err := d.Log.Wait(lctx, d.Exited(), func(s *logState) bool { return len(s.Success) > i })
		cancel()
		if err != nil {
			return fail(d.Why(fmt.Errorf("rep %d: RUNNING: %w", i, err)))
		}
		tk := mono()
		if err := unix.Kill(pid, unix.SIGKILL); err != nil {
			return fail(fmt.Sprintf("rep %d: kill %d: %v", i, pid, err))
		}
		next, err := waitNote(ctx, n, d.Exited(), respawnTimeout, func(nt note) bool { return nt.Pid != pid })
		if err != nil {
			return fail(d.Why(fmt.Errorf("rep %d: %w", i, err)))
		}
		lat = append(lat, ms(next.Stamp-tk))
		cur = next
	}
	med, mx = value(median(lat), "ms"), value(maximum(lat), "ms")
	med.Samples = lat
	return med, mx
}
