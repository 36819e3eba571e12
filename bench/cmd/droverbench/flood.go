package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// floodRows runs respawn (kill -9 → new child's notify) while another
// program of the same daemon writes a log flood at -flood-rate: once with
// the daemon on every CPU, once with GOMAXPROCS=1 (a 1-CPU container's
// Go runtime). supervisord, one Python thread either way, runs once.
func (h *harness) floodRows(ctx context.Context) {
	rate := h.opt.FloodRate
	mbs := float64(rate) / 1e6
	for _, t := range h.targets {
		for _, v := range []struct {
			id, what string
			env      []string
		}{
			{"respawn_flood", fmt.Sprintf("respawn under a %.0f MB/s log flood, all CPUs", mbs), nil},
			{"respawn_flood1", fmt.Sprintf("respawn under a %.0f MB/s log flood, daemon GOMAXPROCS=1", mbs), []string{"GOMAXPROCS=1"}},
		} {
			var med, mx *cell
			if v.env != nil && t.Name == targetSupervisord {
				med, mx = na("one Python thread: the row above"), na("one Python thread: the row above")
			} else {
				h.progress("%s: %s, %d reps", t.Name, v.what, h.opt.FloodReps)
				med, mx = h.respawnRun(ctx, t, respawnSetup{
					name: v.id, reps: h.opt.FloodReps, env: v.env, opts: []string{childGOMAXPROCS()},
					extra: func(dir, sock string) []program { return []program{h.flooder(dir, sock, rate)} },
					ready: floodReady, readyKind: "flood",
				})
			}
			h.rep.set(v.id+"_median", v.what+": kill -9 → new child's notify, median", "ms", goalRespawnMedian, t.Name, med)
			h.rep.set(v.id+"_max", v.what+", max", "ms", goalRespawnMax, t.Name, mx)
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
