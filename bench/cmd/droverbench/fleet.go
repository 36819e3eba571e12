package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

const (
	fleetStartTimeout = 3 * time.Minute
	statusTimeout     = 10 * time.Second
)

// fleet starts n programs (sleep 100000, startsecs=1) and measures, on the
// one daemon: exec → the n-th "entered RUNNING state" line; VmRSS then; the
// context switches of all its threads over an idle window; status latency.
func (h *harness) fleet(ctx context.Context, t *target, want map[string]bool) {
	n, reps := h.opt.Programs, max(h.opt.StartupReps, 1)
	type rowDef struct{ key, id, name, unit, goal string }
	rows := []rowDef{
		{"startup", "startup", fmt.Sprintf("%d programs: exec → all RUNNING (startsecs=1), median of %d starts", n, reps), "s", goalStartup},
		{"startup", "startup_exec", fmt.Sprintf("%d programs: daemon exec → %dth `spawned:` line, median", n, n), "s", "—"},
		{"startup", "startup_spawns", fmt.Sprintf("%d programs exec'd: 1st → %dth `spawned:` line, median", n, n), "s", goalSpawns},
		{"startup", "startup_spawns_floor", "the same ÷ the startup floor (nproc workers) measured right before each start, median of the ratios", "×", goalSpawnsFloor},
		{"startup", "startup_spawns_pipes_floor", "the same ÷ the startup floor with pipes (the row above) measured right before each start, median of the ratios", "×", "—"},
		{"startup", "startup_cpu", "daemon CPU (user+system) from exec to all RUNNING, median", "s", "—"},
		{"rss", "rss", fmt.Sprintf("daemon RSS with %d programs RUNNING", n), "MB", goalRSS},
		{"rss", "rss_own", "daemon + its helpers (children running its own binary: drover's fd keeper), PSS sum", "MB", "—"},
		{"idle", "idle", fmt.Sprintf("idle wake-ups: ctxt switches in %v, all threads", h.opt.Idle), "count", goalIdle},
		{"idle", "idle_next", fmt.Sprintf("idle wake-ups in the %v right after that window (diagnostic)", h.opt.Idle), "count", "—"},
		{"status", "status_supervisorctl", fmt.Sprintf("`supervisorctl status` (%d programs), median of %d", n, h.opt.StatusRuns), "ms", "—"},
		{"status", "status_native", "own status command (drover status / supervisorctl), median", "ms", goalStatus},
		{"status", "status_usage", fmt.Sprintf("`drover status --usage` (CPU and RSS of %d trees), median", n), "ms", "—"},
		{"status", "scrape", fmt.Sprintf("GET /metrics (%d programs), median of %d", n, h.opt.StatusRuns), "ms", "—"},
		{"status", "rss_scraped", "daemon RSS after those status runs and scrapes", "MB", "—"},
	}
	set := func(key string, c *cell) {
		for _, r := range rows {
			if r.key == key && want[key] {
				h.rep.set(r.id, r.name, r.unit, r.goal, t.Name, c)
				return
			}
		}
	}
	setID := func(id string, c *cell) {
		for _, r := range rows {
			if r.id == id && want[r.key] {
				h.rep.set(r.id, r.name, r.unit, r.goal, t.Name, c)
			}
		}
	}
	failAll := func(reason string) {
		for _, r := range rows {
			if want[r.key] {
				h.rep.set(r.id, r.name, r.unit, r.goal, t.Name, na(reason))
			}
		}
	}

	dir, err := h.newDir(t.Name + "-fleet")
	if err != nil {
		failAll(shortErr(err))
		return
	}
	conf, err := benchConfig(dir, manyPrograms(n, h.sleep+" 100000", "startsecs=1"))
	if err != nil {
		failAll(shortErr(err))
		return
	}
	var floors startupSample
	if want["startup"] {
		h.pairedFloors(ctx, &floors)
	}
	d, err := startDaemon(t, dir, conf)
	if err != nil {
		failAll(shortErr(err))
		return
	}
	first, err := waitStartup(ctx, d, n)
	if err != nil {
		d.Stop(stopGrace)
		failAll(shortErr(err))
		return
	}
	first.floor, first.pipesFloor = floors.floor, floors.pipesFloor
	h.fleetMeasure(ctx, t, want, d, dir, conf, set, setID)
	d.Stop(stopGrace)
	if want["startup"] {
		h.startupRows(ctx, t, first, setID)
	}
}

// fleetMeasure takes the fleet's rows other than startup on its running
// daemon d.
func (h *harness) fleetMeasure(ctx context.Context, t *target, want map[string]bool, d *daemon, dir, conf string, set, setID func(string, *cell)) {
	n := h.opt.Programs

	if want["rss"] {
		if kb, err := rssKB(d.Pid); err != nil {
			set("rss", na(shortErr(err)))
		} else {
			c := value(float64(kb)/1024, "MB")
			c.Detail = rssBreakdown(d.Pid)
			set("rss", c)
			h.fleetRSS[t.Name] = kb
		}
		if kb, detail, err := ownCost(d.Pid); err != nil {
			setID("rss_own", na(shortErr(err)))
		} else {
			c := value(float64(kb)/1024, "MB")
			c.Detail = detail
			setID("rss_own", c)
		}
	}
	if want["idle"] {
		set("idle", h.idle(ctx, d))
		// The first window opens the moment the last RUNNING line is
		// seen, while the daemon (and the Go runtime under it) may still
		// be winding down from start-up; a second one shows whether any
		// wake-up recurs once it has.
		setID("idle_next", h.idle(ctx, d))
	}
	if want["status"] {
		ctl := []string{h.opt.Supervisorctl, "-c", conf, "status"}
		c := h.timeStatus(ctx, d, ctl, n)
		setID("status_supervisorctl", c)
		if t.Ctl == nil {
			setID("status_native", na("no status verb yet"))
		} else if own := t.Ctl(conf); strings.Join(own, " ") == strings.Join(ctl, " ") {
			setID("status_native", c)
		} else {
			setID("status_native", h.timeStatus(ctx, d, own, n))
		}
		st, sc, rss := h.usageRows(ctx, t, d, dir, conf, n)
		setID("status_usage", st)
		setID("scrape", sc)
		setID("rss_scraped", rss)
	}
}

// idle counts the daemon's context switches (voluntary + involuntary, over
// all threads) between two /proc reads h.opt.Idle apart. The window is a
// measurement period, not a wait for an event.
func (h *harness) idle(ctx context.Context, d *daemon) *cell {
	per0, err := taskSwitches(d.Pid)
	if err != nil {
		return na(shortErr(err))
	}
	t := time.NewTimer(h.opt.Idle)
	defer t.Stop()
	select {
	case <-t.C:
	case <-d.Exited():
		return na(d.Why(errDaemonExited))
	case <-ctx.Done():
		return na(shortErr(ctx.Err()))
	}
	per1, err := taskSwitches(d.Pid)
	if err != nil {
		return na(shortErr(err))
	}
	// Which threads woke, and where each sleeps now (its wchan: e.g.
	// do_epoll_wait, futex_wait, hrtimer_nanosleep), so that a stray
	// wake-up can be traced to the runtime or to drover.
	var sum int64
	woke := map[string]string{}
	for tid, n1 := range per1 {
		if n := n1 - per0[tid]; n != 0 {
			sum += n
			wchan, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/wchan", d.Pid, tid))
			woke[tid] = fmt.Sprintf("%d switches, now in %s", n, wchan)
		}
	}
	c := value(float64(sum), "count")
	c.Detail = map[string]any{"pid": d.Pid, "threads_before": len(per0), "threads_after": len(per1), "woke": woke}
	return c
}

// timeStatus runs argv h.opt.StatusRuns times and returns the median wall
// time; each run must list n programs as RUNNING.
func (h *harness) timeStatus(ctx context.Context, d *daemon, argv []string, n int) *cell {
	return timeStatusRuns(ctx, d, argv, n, h.opt.StatusRuns, statusTimeout)
}

// timeStatusRuns runs argv runs times, each within timeout, and returns
// the median wall time; each run must list n programs as RUNNING, and with
// n = 0 (nothing to list) exit 0.
func timeStatusRuns(ctx context.Context, d *daemon, argv []string, n, runs int, timeout time.Duration) *cell {
	var lat []float64
	for i := range runs {
		rctx, cancel := context.WithTimeout(ctx, timeout)
		cmd := exec.CommandContext(rctx, argv[0], argv[1:]...)
		t0 := mono()
		out, err := cmd.CombinedOutput()
		t1 := mono()
		timedOut := rctx.Err() != nil
		cancel()
		running := strings.Count(string(out), " RUNNING ")
		var ee *exec.ExitError
		if timedOut {
			return na(d.Why(fmt.Errorf("run %d: no answer in %v", i, timeout)))
		}
		if err != nil && (n == 0 || !errors.As(err, &ee)) {
			return na(d.Why(fmt.Errorf("run %d: %w: %s", i, err, firstLineOf(string(out)))))
		}
		if running < n {
			first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
			return na(fmt.Sprintf("shows %d of %d RUNNING: %s", running, n, shortErr(errors.New(first))))
		}
		lat = append(lat, ms(t1-t0))
	}
	c := value(median(lat), "ms")
	c.Samples = lat
	return c
}
