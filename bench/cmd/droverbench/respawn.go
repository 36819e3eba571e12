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
	return h.respawnRun(ctx, t, respawnSetup{name: "respawn", reps: h.opt.Reps})
}

// respawnSetup varies a respawn run: extra programs beside the one killed
// (a log flood), extra daemon environment (GOMAXPROCS=1), and a wait for
// those programs before the first kill.
type respawnSetup struct {
	name  string // run dir name
	reps  int
	extra func(dir, sock string) []program
	env   []string
	opts  []string // more lines for the respawned program
	// ready runs once the first child and an extra program sent notes
	// (the latter of kind readyKind), before the first kill; the function
	// it returns runs after the last rep and its result goes to the
	// median cell's detail.
	ready     func(d *daemon, nt note) func() map[string]any
	readyKind string
}

func (h *harness) respawnRun(ctx context.Context, t *target, rs respawnSetup) (med, mx *cell) {
	fail := func(reason string) (*cell, *cell) { return na(reason), na(reason) }
	dir, n, err := h.newRun(t.Name + "-" + rs.name)
	if err != nil {
		return fail(shortErr(err))
	}
	defer n.Close()
	progs := []program{{
		Name:    "respawn",
		Command: h.self + " child " + n.Path,
		Options: append([]string{"autorestart=true", "startsecs=1", "startretries=3"}, rs.opts...),
	}}
	if rs.extra != nil {
		progs = append(progs, rs.extra(dir, n.Path)...)
	}
	conf, err := benchConfig(dir, progs)
	if err != nil {
		return fail(shortErr(err))
	}
	d, err := startDaemonEnv(t, dir, conf, rs.env)
	if err != nil {
		return fail(shortErr(err))
	}
	defer d.Stop(stopGrace)

	// The first child's note and, with ready, the extra program's may
	// come in either order.
	var cur, other note
	_, err = waitNote(ctx, n, d.Exited(), firstNoteTimeout, func(nt note) bool {
		if nt.Kind == "start" {
			cur = nt
		} else if nt.Kind == rs.readyKind {
			other = nt
		}
		return cur.Pid != 0 && (rs.ready == nil || other.Pid != 0)
	})
	if err != nil {
		return fail(d.Why(fmt.Errorf("first child (and %q): %w", rs.readyKind, err)))
	}
	var after func() map[string]any
	if rs.ready != nil {
		after = rs.ready(d, other)
	}
	var lat []float64
	for i := range rs.reps {
		pid := cur.Pid
		lctx, cancel := context.WithTimeout(ctx, runningTimeout)
		err := d.Log.Wait(lctx, d.Exited(), func(s *logState) bool { return s.SuccessBy["respawn"] > i })
		cancel()
		if err != nil {
			return fail(d.Why(fmt.Errorf("rep %d: RUNNING: %w", i, err)))
		}
		tk := mono()
		if err := unix.Kill(pid, unix.SIGKILL); err != nil {
			return fail(fmt.Sprintf("rep %d: kill %d: %v", i, pid, err))
		}
		next, err := waitNote(ctx, n, d.Exited(), respawnTimeout, func(nt note) bool { return nt.Kind == "start" && nt.Pid != pid })
		if err != nil {
			return fail(d.Why(fmt.Errorf("rep %d: %w", i, err)))
		}
		lat = append(lat, ms(next.Stamp-tk))
		cur = next
	}
	med, mx = value(median(lat), "ms"), value(maximum(lat), "ms")
	med.Samples = lat
	if after != nil {
		med.Detail = after()
	}
	return med, mx
}
