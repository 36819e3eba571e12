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

// baselineCells are the baseline's rows.
type baselineCells struct {
	med, mx      *cell // fork+exec → notify
	tdMed, tdMax *cell // kill → exit seen
	exec         latCells
}

// latCells are a median and a max cell of one latency series, or both
// n/a with one reason.
type latCells struct{ med, mx *cell }

func latencies(lat []float64) latCells {
	c := latCells{value(median(lat), "ms"), value(maximum(lat), "ms")}
	c.med.Samples = lat
	return c
}

func naCells(reason string) latCells { return latCells{na(reason), na(reason)} }

// execLat collects the kernel-stamped "→ exec'd" latencies of a series;
// a proc connector that is unavailable or fails makes the cells n/a with
// why, never a silent pass.
type execLat struct {
	w   *execWatch
	err error
	lat []float64
}

func (h *harness) newExecLat() *execLat {
	w, err := h.execWatch()
	return &execLat{w: w, err: err}
}

// add records pid's exec (at or after t0) − t0.
func (e *execLat) add(pid int, t0 int64) {
	if e.err != nil {
		return
	}
	s, err := e.w.Exec(pid, t0, respawnTimeout)
	if err != nil {
		e.err = err
		return
	}
	e.lat = append(e.lat, ms(s-t0))
}

func (e *execLat) cells() latCells {
	if e.err == nil {
		e.err = e.w.Err()
	}
	if e.err != nil {
		return naCells(shortErr(e.err))
	}
	return latencies(e.lat)
}

// baseline times the harness itself spawning the child: fork+exec →
// the child's notify stamp, and → its exec as the kernel stamps it. They
// are the floors under any supervisor's respawn. Each child is then
// SIGKILLed and the kill → exit time kept in td (the teardown floor).
func (h *harness) baseline(ctx context.Context) baselineCells {
	fail := func(err error) baselineCells {
		return baselineCells{na(shortErr(err)), na(shortErr(err)), na(shortErr(err)), na(shortErr(err)), naCells(shortErr(err))}
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
	ex := h.newExecLat()
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
		ex.add(p.Pid, t0)
	}
	n1, t1 := latencies(lat), latencies(td)
	return baselineCells{n1.med, n1.mx, t1.med, t1.mx, ex.cells()}
}

// respawn runs one program whose child notifies at start; it SIGKILLs the
// child and times kill → the next child's notify stamp, and kill → its
// exec as the kernel stamps it (the goal's "new child exec'd"), reps times. Each
// kill waits for the child's "success: ... entered RUNNING state" line
// (startsecs=1), so it hits an established process: that is the case the
// goal is about, and it keeps drover's crash-loop guard (runs shorter than
// 1 s delay the restart, a deliberate fix of supervisord #1285) out of it.
func (h *harness) respawn(ctx context.Context, t *target) (notify, exec latCells) {
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

func (h *harness) respawnRun(ctx context.Context, t *target, rs respawnSetup) (notify, exec latCells) {
	fail := func(reason string) (latCells, latCells) { return naCells(reason), naCells(reason) }
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
	ex := h.newExecLat()
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
		ex.add(next.Pid, tk)
		cur = next
	}
	notify = latencies(lat)
	if after != nil {
		notify.med.Detail = after()
	}
	return notify, ex.cells()
}
