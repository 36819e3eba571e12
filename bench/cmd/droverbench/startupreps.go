package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

// One start of the fleet is a single sample of a few hundred ms on a
// machine whose own fork+exec floor moves by ±15 % from one second to the
// next; so the startup rows are medians of -startup-reps starts, each
// right after a floor run of its own, and the ratio row is the median of
// the per-start ratios.

// startupSample is one start of the fleet, from the daemon's main log: s
// from the daemon's exec to all RUNNING and to the n-th `spawned:` line,
// the 1st → n-th `spawned:` span, the daemon's CPU by all RUNNING, and the
// floors measured right before it, bare and with pipes (0: none).
type startupSample struct {
	running, exec, spawns, cpu float64
	floor, pipesFloor          float64
	cpuErr                     error
}

// waitStartup waits for d's n `spawned:` and n RUNNING lines.
func waitStartup(ctx context.Context, d *daemon, n int) (startupSample, error) {
	wctx, cancel := context.WithTimeout(ctx, fleetStartTimeout)
	defer cancel()
	var reached, spawn0, spawnN int64
	err := d.Log.Wait(wctx, d.Exited(), func(s *logState) bool {
		if len(s.Success) >= n && len(s.SpawnedAt) >= n {
			reached = s.Success[n-1]
			spawn0, spawnN = s.SpawnedAt[0], s.SpawnedAt[n-1]
			return true
		}
		return false
	})
	if err != nil {
		c := d.Log.Counts()
		return startupSample{}, errors.New(d.Why(fmt.Errorf("%d of %d RUNNING: %w", c[kindSuccess], n, err)))
	}
	s := startupSample{
		running: float64(reached-d.Start) / 1e9,
		exec:    float64(spawnN-d.Start) / 1e9,
		spawns:  float64(spawnN-spawn0) / 1e9,
	}
	if ticks, err := cpuTicks(d.Pid); err != nil {
		s.cpuErr = err
	} else {
		s.cpu = float64(ticks) / clockTicks
	}
	return s, nil
}

// pairedFloors are the startup floors (nproc workers, bare and with
// pipes) measured now, for the start that follows; 0 for one that could
// not be measured.
func (h *harness) pairedFloors(ctx context.Context, s *startupSample) {
	for _, f := range []struct {
		pipes bool
		v     *float64
	}{{false, &s.floor}, {true, &s.pipesFloor}} {
		if c, err := spawnFloor(ctx, []string{h.sleep, "100000"}, h.opt.Programs, runtime.NumCPU(), f.pipes); err == nil {
			*f.v = c.Value
		}
	}
}

// startupOnce starts t's daemon on a fresh fleet config after a floor run,
// takes one sample and stops it.
func (h *harness) startupOnce(ctx context.Context, t *target, rep int) (startupSample, error) {
	n := h.opt.Programs
	dir, err := h.newDir(fmt.Sprintf("%s-startup%d", t.Name, rep))
	if err != nil {
		return startupSample{}, err
	}
	conf, err := benchConfig(dir, manyPrograms(n, h.sleep+" 100000", "startsecs=1"))
	if err != nil {
		return startupSample{}, err
	}
	var floors startupSample
	h.pairedFloors(ctx, &floors)
	d, err := startDaemon(t, dir, conf)
	if err != nil {
		return startupSample{}, err
	}
	defer d.Stop(stopGrace)
	s, err := waitStartup(ctx, d, n)
	s.floor, s.pipesFloor = floors.floor, floors.pipesFloor
	return s, err
}

// startupRows runs the starts that remain after the fleet's own (first)
// and sets the startup rows from the medians of all of them.
func (h *harness) startupRows(ctx context.Context, t *target, first startupSample, set func(id string, c *cell)) {
	samples := []startupSample{first}
	var failed []string
	for rep := 2; rep <= h.opt.StartupReps && ctx.Err() == nil; rep++ {
		s, err := h.startupOnce(ctx, t, rep)
		if err != nil {
			failed = append(failed, shortErr(err))
			continue
		}
		samples = append(samples, s)
	}
	pick := func(f func(startupSample) float64) []float64 {
		out := make([]float64, 0, len(samples))
		for _, s := range samples {
			out = append(out, f(s))
		}
		return out
	}
	med := func(xs []float64, unit string) *cell {
		c := value(median(xs), unit)
		c.Samples = xs
		if len(failed) > 0 {
			c.Detail = map[string]any{"failed_starts": failed}
		}
		return c
	}
	set("startup", med(pick(func(s startupSample) float64 { return s.running }), "s"))
	set("startup_exec", med(pick(func(s startupSample) float64 { return s.exec }), "s"))
	set("startup_spawns", med(pick(func(s startupSample) float64 { return s.spawns }), "s"))
	var cpus []float64
	var cpuErr error
	for _, s := range samples {
		if s.cpuErr != nil {
			cpuErr = s.cpuErr
			continue
		}
		cpus = append(cpus, s.cpu)
	}
	if len(cpus) == 0 {
		set("startup_cpu", na(shortErr(cpuErr)))
	} else {
		set("startup_cpu", med(cpus, "s"))
	}
	for _, r := range []struct {
		id    string
		floor func(startupSample) float64
	}{
		{"startup_spawns_floor", func(s startupSample) float64 { return s.floor }},
		{"startup_spawns_pipes_floor", func(s startupSample) float64 { return s.pipesFloor }},
	} {
		var ratios, floors []float64
		for _, s := range samples {
			if f := r.floor(s); f > 0 {
				ratios = append(ratios, s.spawns/f)
				floors = append(floors, f)
			}
		}
		if len(ratios) == 0 {
			set(r.id, na("no floor measured beside the starts"))
			continue
		}
		c := med(ratios, "×")
		if c.Detail == nil {
			c.Detail = map[string]any{}
		}
		c.Detail["floors_s"] = floors
		set(r.id, c)
	}
}
