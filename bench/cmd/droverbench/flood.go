package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// floodRows runs respawn (kill -9 → new child's notify) while another
// program of the same daemon writes a log flood at -flood-rate: once with
// the daemon on every CPU, once with GOMAXPROCS=1 (a 1-CPU container's
// Go runtime). supervisord, one Python thread either way, runs once.
func (h *harness) floodRows(ctx context.Context) {
	rate := h.opt.FloodRate
	mbs := float64(rate) / 1e6
	h.progress("flood floor: harness spawns the child %d times under its own %.0f MB/s flood", h.opt.FloodReps, mbs)
	fl, fe := h.floodFloor(ctx, rate, h.opt.FloodReps)
	for _, t := range h.targets {
		h.rep.set("flood_floor_median", fmt.Sprintf("respawn floor under a %.0f MB/s flood: harness fork+exec → notify while it copies the flood pipe → file, median", mbs), "ms", "(reference)", t.Name, fl.med)
		h.rep.set("flood_floor_max", "respawn floor under the flood, max", "ms", "(reference)", t.Name, fl.mx)
		h.rep.set("flood_floor_exec_median", "respawn floor under the flood: harness fork+exec → the child exec'd (kernel proc connector), median", "ms", "(reference)", t.Name, fe.med)
		h.rep.set("flood_floor_exec_max", "respawn floor under the flood → exec'd, max", "ms", "(reference)", t.Name, fe.mx)
	}
	h.noRatio("flood_floor_median", "flood_floor_max", "flood_floor_exec_median", "flood_floor_exec_max")
	for _, t := range h.targets {
		for _, v := range []struct {
			id, what string
			env      []string
		}{
			{"respawn_flood", fmt.Sprintf("respawn under a %.0f MB/s log flood, all CPUs", mbs), nil},
			{"respawn_flood1", fmt.Sprintf("respawn under a %.0f MB/s log flood, daemon GOMAXPROCS=1", mbs), []string{"GOMAXPROCS=1"}},
		} {
			var n, e latCells
			if v.env != nil && t.Name == targetSupervisord {
				n, e = naCells("one Python thread: the row above"), naCells("one Python thread: the row above")
			} else {
				h.progress("%s: %s, %d reps", t.Name, v.what, h.opt.FloodReps)
				n, e = h.respawnRun(ctx, t, respawnSetup{
					name: v.id, reps: h.opt.FloodReps, env: v.env, opts: []string{childGOMAXPROCS()},
					extra: func(dir, sock string) []program { return []program{h.flooder(dir, sock, rate)} },
					ready: floodReady, readyKind: "flood",
				})
			}
			h.rep.set(v.id+"_median", v.what+": kill -9 → new child's notify, median", "ms", goalRespawnMedian, t.Name, n.med)
			h.rep.set(v.id+"_max", v.what+", max", "ms", goalRespawnMax, t.Name, n.mx)
			h.rep.set(v.id+"_exec_median", v.what+": kill -9 → new child exec'd (kernel proc connector), median", "ms", goalRespawnMedian, t.Name, e.med)
			h.rep.set(v.id+"_exec_max", v.what+": kill -9 → exec'd, max", "ms", goalRespawnMax, t.Name, e.mx)
		}
	}
}

// flooder is the program writing the flood: 100-byte lines in 4000-byte
// writes to a log rotating at 50MB with one backup (bounded disk).
// GOMAXPROCS is set for both programs so the children are the same
// processes whatever the daemon's own setting.
func (h *harness) flooder(dir, sock string, rate int64) program {
	return program{
		Name:    "flood",
		Command: fmt.Sprintf("%s flood %s %d", h.self, sock, rate),
		Options: []string{"autorestart=true", "startsecs=0",
			"stdout_logfile=" + filepath.Join(dir, "flood.log"),
			"stdout_logfile_maxbytes=50MB", "stdout_logfile_backups=1",
			childGOMAXPROCS()},
	}
}

// childGOMAXPROCS keeps the children's Go runtime on every CPU whatever
// the daemon's GOMAXPROCS, so both flood rows run the same children.
func childGOMAXPROCS() string {
	return "environment=GOMAXPROCS=\"" + strconv.Itoa(runtime.NumCPU()) + "\""
}

// floodReady samples the flooder's written bytes (/proc/PID/io wchar)
// and the daemon's CPU; the returned function reads them again after the
// reps: the flood rate the daemon let through and what it cost.
func floodReady(d *daemon, nt note) func() map[string]any {
	w0, _ := wchar(nt.Pid)
	c0, _ := cpuTicks(d.Pid)
	t0 := mono()
	return func() map[string]any {
		w1, err := wchar(nt.Pid)
		c1, _ := cpuTicks(d.Pid)
		sec := float64(mono()-t0) / 1e9
		det := map[string]any{"seconds": sec, "daemon_cpu_pct": float64(c1-c0) / clockTicks / sec * 100}
		if err == nil {
			det["flood_mbs"] = float64(w1-w0) / 1e6 / sec
		} else {
			det["flood_mbs"] = "flooder gone: " + shortErr(err)
		}
		return det
	}
}

// wchar is the bytes pid has written so far (/proc/PID/io).
func wchar(pid int) (int64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "io"))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "wchar: "); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("no wchar in /proc/%d/io", pid)
}

// floodGap paces the floor's reps: the flood runs on between them, as it
// does between the daemons' respawns (a measurement period, not a wait).
const floodGap = 200 * time.Millisecond

// floodFloor is the floor under the flood rows: while the flooder writes
// at rate into a pipe the harness itself copies to a file (read+write,
// 128 KiB, as a minimal supervisor would), the harness fork+execs the
// child and times it to the child's notify stamp, reps times (each child
// then killed and reaped); also to the child's exec as the kernel stamps
// it. Nothing a daemon does can beat this on the same machine under the
// same flood.
func (h *harness) floodFloor(ctx context.Context, rate int64, reps int) (notify, exec latCells) {
	fail := func(err error) (latCells, latCells) { return naCells(shortErr(err)), naCells(shortErr(err)) }
	dir, n, err := h.newRun("flood-floor")
	if err != nil {
		return fail(err)
	}
	defer n.Close()
	out, err := os.Create(filepath.Join(dir, "flood.log"))
	if err != nil {
		return fail(err)
	}
	defer out.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return fail(err)
	}
	defer r.Close()
	fl, err := os.StartProcess(h.self, []string{h.self, "flood", n.Path, strconv.FormatInt(rate, 10)},
		&os.ProcAttr{Files: []*os.File{nil, w, os.Stderr}, Sys: &syscall.SysProcAttr{Setpgid: true}})
	w.Close()
	if err != nil {
		return fail(err)
	}
	defer func() { _ = fl.Kill(); _, _ = fl.Wait() }()
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		buf := make([]byte, 128<<10)
		for {
			k, err := r.Read(buf)
			if k > 0 {
				// Every 256 MB the file starts over, so the floor does
				// not fill the disk (the daemons rotate theirs).
				if off, _ := out.Seek(0, io.SeekCurrent); off > 256<<20 {
					_ = out.Truncate(0)
					_, _ = out.Seek(0, io.SeekStart)
				}
				if _, err := out.Write(buf[:k]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() { _ = fl.Kill(); _ = r.SetReadDeadline(time.Now()); <-copied }()
	if _, err := waitNote(ctx, n, nil, firstNoteTimeout, func(nt note) bool { return nt.Kind == "flood" }); err != nil {
		return fail(fmt.Errorf("flooder: %w", err))
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return fail(err)
	}
	defer devnull.Close()
	var lat []float64
	ex := h.newExecLat()
	for range reps {
		t := time.NewTimer(floodGap)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fail(ctx.Err())
		}
		t0 := mono()
		p, err := os.StartProcess(h.self, []string{h.self, "child", n.Path},
			&os.ProcAttr{Files: []*os.File{devnull, devnull, devnull}, Sys: &syscall.SysProcAttr{Setpgid: true}})
		if err != nil {
			return fail(err)
		}
		nt, err := waitNote(ctx, n, nil, respawnTimeout, func(nt note) bool { return nt.Pid == p.Pid })
		teardown(p)
		if err != nil {
			return fail(err)
		}
		lat = append(lat, ms(nt.Stamp-t0))
		ex.add(p.Pid, t0)
	}
	return latencies(lat), ex.cells()
}
