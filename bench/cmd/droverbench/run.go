package main

import (
	"context"
	"fmt"
)

// Row ids, names, units and goals (issue 4). Goals apply to drover.
const (
	goalRespawnMedian = "≤ 2 ms"
	goalRespawnMax    = "≤ 10 ms"
	goalStartup       = "≤ 1.1 s"
	goalRSS           = "≤ 10 MB"
	goalIdle          = "0"
	goalThroughput    = "≥ 85 MB/s"
	goalCPU           = "≤ 15 %"
	goalStatus        = "≤ 20 ms"
	goalSpawns        = "≤ 1.2× floor"
	goalSpawnsFloor   = "≤ 1.2"
	goalSoakRSS       = "≤ 5 %"
	goalReloadFailed  = "0"
	goalReloadP99     = "≤ 2×"
)

// run performs the selected measurements for every target, in a fixed
// order, one daemon at a time (they would compete for the CPUs otherwise).
func (h *harness) run(ctx context.Context, want map[string]bool) {
	if want["baseline"] {
		h.progress("baseline: harness spawns the child %d times", h.opt.Reps)
		b := h.baseline(ctx)
		for _, t := range h.targets {
			h.rep.set("baseline_median", "child start-up baseline: harness fork+exec → notify, median", "ms", "(reference)", t.Name, b.med)
			h.rep.set("baseline_max", "child start-up baseline, max", "ms", "(reference)", t.Name, b.mx)
			h.rep.set("baseline_exec_median", "respawn floor: harness fork+exec → the child exec'd (kernel proc connector), median", "ms", "(reference)", t.Name, b.exec.med)
			h.rep.set("baseline_exec_max", "respawn floor: harness fork+exec → exec'd, max", "ms", "(reference)", t.Name, b.exec.mx)
			h.rep.set("teardown_median", "respawn floor: harness kill -9 of its own child → exit seen (pidfd), median", "ms", "(reference)", t.Name, b.tdMed)
			h.rep.set("teardown_max", "respawn floor: kill -9 → exit seen, max", "ms", "(reference)", t.Name, b.tdMax)
		}
		h.noRatio("baseline_median", "baseline_max", "baseline_exec_median", "baseline_exec_max", "teardown_median", "teardown_max")
	}
	if want["respawn"] {
		for _, t := range h.targets {
			h.progress("%s: respawn after kill -9, %d reps", t.Name, h.opt.Reps)
			n, e := h.respawn(ctx, t)
			h.rep.set("respawn_median", "respawn after kill -9 → new child's notify, median", "ms", goalRespawnMedian, t.Name, n.med)
			h.rep.set("respawn_max", "respawn after kill -9, max", "ms", goalRespawnMax, t.Name, n.mx)
			h.rep.set("respawn_exec_median", "respawn after kill -9 → new child exec'd (kernel proc connector), median", "ms", goalRespawnMedian, t.Name, e.med)
			h.rep.set("respawn_exec_max", "respawn after kill -9 → exec'd, max", "ms", goalRespawnMax, t.Name, e.mx)
		}
	}
	if want["flood"] {
		h.floodRows(ctx)
	}
	if want["startup"] {
		h.progress("startup floors: harness fork+execs %d programs itself", h.opt.Programs)
		h.startupFloors(ctx)
	}
	if want["rss"] {
		h.progress("rss floor: a Go process holding %d sleeps' pipes in its netpoller", h.opt.Programs)
		c, err := h.rssFloor(ctx, h.opt.Programs)
		if err != nil {
			c = na(shortErr(err))
		}
		for _, t := range h.targets {
			h.rep.set("rss_floor", fmt.Sprintf("rss floor: a minimal Go process of the same shape (%d sleeps, their %d stdout/stderr pipes in Go's netpoller, a SIGCHLD reaper), VmRSS", h.opt.Programs, 2*h.opt.Programs), "MB", "(reference)", t.Name, c)
		}
		h.noRatio("rss_floor")
	}
	if want["startup"] || want["rss"] || want["idle"] || want["status"] {
		for _, t := range h.targets {
			h.progress("%s: %d programs (startup, rss, idle, status)", t.Name, h.opt.Programs)
			h.fleet(ctx, t, want)
			if want["rss"] {
				h.rssFixed(ctx, t)
			}
		}
		h.noRatio("startup_spawns_floor")
		h.noRatio("startup_spawns_pipes_floor")
	}
	if want["rules"] {
		for _, t := range h.targets {
			h.progress("%s: %d programs without, then with access rules (status as root and as nobody, rss)", t.Name, h.opt.Programs)
			h.rules(ctx, t)
		}
	}
	if want["scale"] {
		h.scale(ctx, h.opt.Scale)
	}
	for _, v := range throughputVariants(h.opt.ProduceBytes) {
		if !want[v.ID] {
			continue
		}
		if v.Backups == 0 && len(v.Options) == 0 {
			h.progress("ceiling: the producer alone to /dev/null, %s", v.Name)
			ceil := h.producerCeiling(ctx, v)
			for _, t := range h.targets {
				h.rep.set(v.ID+"_ceiling", "producer ceiling: the producer alone → /dev/null (no pipe, no reader), "+v.Name, "MB/s", "(reference)", t.Name, ceil)
			}
			h.noRatio(v.ID + "_ceiling")
			h.progress("baseline: harness copies the producer's pipe to a file, %s", v.Name)
			c, cpu := h.throughputBaseline(ctx, v)
			for _, t := range h.targets {
				h.rep.set(v.ID+"_base", "throughput baseline: harness pipe → file, "+v.Name, "MB/s", "(reference)", t.Name, c)
				h.rep.set(v.ID+"_base_cpu", "harness CPU during its copy (producer excluded)", "%", "(reference)", t.Name, cpu)
			}
			h.noRatio(v.ID+"_base", v.ID+"_base_cpu")
			h.progress("floor: harness splices the producer's pipe into a file, %s", v.Name)
			sc, scpu := h.spliceBaseline(ctx, v)
			for _, t := range h.targets {
				h.rep.set(v.ID+"_splice", "splice floor: harness pipe → file with splice(2), "+v.Name, "MB/s", "(reference)", t.Name, sc)
				h.rep.set(v.ID+"_splice_cpu", "harness CPU during its splice (producer excluded)", "%", "(reference)", t.Name, scpu)
			}
			h.noRatio(v.ID+"_splice", v.ID+"_splice_cpu")
		}
		var kspl, kwr *cell
		if v.ID == "bulk" {
			h.progress("floor: the kernel's CPU to put %d MiB into a file by splice and by write", v.Total>>20)
			kspl, kwr = h.kernelFloor(v.Total)
			for _, t := range h.targets {
				h.rep.set("bulk_kernel_splice", "kernel floor: CPU of splice(2) calls emptying full 1 MiB pipes into a file (filling them not counted), median of 3", "s/GiB", "(reference)", t.Name, kspl)
				h.rep.set("bulk_kernel_write", "kernel floor: CPU of write(2) calls putting 1 MiB from memory into a file, median of 3", "s/GiB", "(reference)", t.Name, kwr)
			}
			h.noRatio("bulk_kernel_splice", "bulk_kernel_write")
		}
		for _, t := range h.targets {
			h.progress("%s: child log throughput, %s", t.Name, v.Name)
			mbs, cpu := h.throughput(ctx, t, v)
			h.rep.set(v.ID+"_mbs", "log throughput, "+v.Name, "MB/s", goalThroughput, t.Name, mbs)
			h.rep.set(v.ID+"_cpu", "daemon CPU during it", "%", goalCPU, t.Name, cpu)
			if v.ID == "bulk" {
				h.rep.set("bulk_cpu_gib", "daemon CPU per GiB captured", "s/GiB", "—", t.Name, cpuPerGiB(mbs, cpu))
				// drover splices; supervisord reads and writes.
				floor := kspl
				if t.Name == targetSupervisord {
					floor = kwr
				}
				h.rep.set("bulk_cpu_floor", "the kernel floor of its path (drover: splice, supervisord: write) at its MB/s, % of one core: the least its CPU row can be", "%", "(reference)", t.Name, floorAt(floor, mbs))
			}
		}
		if v.ID == "bulk" {
			h.noRatio("bulk_cpu_floor")
		}
	}
	if want["reload"] {
		for _, t := range h.targets {
			h.progress("%s: reload a web app %d times under load", t.Name, h.opt.Reloads)
			r := h.reload(ctx, t)
			n := h.opt.Reloads
			h.rep.set("reload_duration", fmt.Sprintf("reload (drover reload / supervisorctl restart): command start → return, median of %d", n), "ms", "—", t.Name, r.Duration)
			h.rep.set("reload_failed", fmt.Sprintf("failed requests from the 1st of %d reloads on (of all sent)", n), "count", goalReloadFailed, t.Name, r.Failed)
			h.rep.set("reload_p99_steady", "p99 latency, steady state before the reloads", "ms", "(reference)", t.Name, r.SteadyP99)
			h.rep.set("reload_p99_during", "p99 latency during the reloads (command start → return)", "ms", "—", t.Name, r.ReloadP99)
			h.rep.set("reload_p99_ratio", "p99 during reloads ÷ p99 steady state", "×", goalReloadP99, t.Name, r.Ratio)
		}
	}
	if want["soak"] {
		for _, t := range h.targets {
			h.progress("%s: soak, %d programs exiting every %v, for %v", t.Name, h.opt.SoakPrograms, h.opt.SoakLife, h.opt.SoakDuration)
			h.soak(ctx, t)
		}
	}
}

// noRatio marks rows whose ratio is meaningless.
func (h *harness) noRatio(ids ...string) {
	for _, rw := range h.rep.Rows {
		for _, id := range ids {
			if rw.ID == id {
				rw.NoRatio = true
			}
		}
	}
}

// ms converts a CLOCK_MONOTONIC difference to milliseconds.
func ms(ns int64) float64 { return float64(ns) / 1e6 }
