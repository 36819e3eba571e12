package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// scaleStatusTimeout bounds one status run at scale: supervisorctl
	// needs about 1 s for 1,000 programs here and 18 s for 5,000.
	scaleStatusTimeout = time.Minute
	// scaleStopGrace is shorter than stopGrace: shutdown is not measured,
	// and supervisord stops one program per main-loop pass (minutes for
	// thousands); after it the harness SIGKILLs the daemon and kills and
	// reaps its children itself.
	scaleStopGrace = 5 * time.Second
)

// parseScale parses -scale: comma-separated program counts > 0, returned
// ascending without repeats.
func parseScale(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-scale: %q is not a program count > 0", f)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-scale: no program counts in %q", s)
	}
	slices.Sort(out)
	return out, nil
}

// scaleRow is one row of the curve; N = 0 is the daemon with no programs.
type scaleRow struct{ id, name, unit, goal string }

func scaleRowFor(kind string, n, runs int) scaleRow {
	id := fmt.Sprintf("scale_%s_%d", kind, n)
	switch kind {
	case "floor":
		return scaleRow{id, fmt.Sprintf("scale %d: floor, harness fork+execs the %d programs itself (nproc workers)", n, n), "s", "(reference)"}
	case "start":
		return scaleRow{id, fmt.Sprintf("scale %d: exec → all %d RUNNING (startsecs=1)", n, n), "s", "—"}
	case "rss":
		if n == 0 {
			return scaleRow{id, "scale 0: daemon RSS with no programs (after its status runs)", "MB", "—"}
		}
		return scaleRow{id, fmt.Sprintf("scale %d: daemon RSS, all RUNNING (after its status runs)", n), "MB", "—"}
	case "fds":
		return scaleRow{id, fmt.Sprintf("scale %d: fds the daemon holds open", n), "count", "—"}
	case "perprog":
		return scaleRow{id, fmt.Sprintf("scale %d: RSS per program, (RSS − RSS with 0) ÷ %d", n, n), "kB", "—"}
	default: // status
		if n == 0 {
			return scaleRow{id, fmt.Sprintf("scale 0: own status client, no programs, median of %d", runs), "ms", "—"}
		}
		return scaleRow{id, fmt.Sprintf("scale %d: own status client, median of %d (each lists all %d RUNNING)", n, runs, n), "ms", "—"}
	}
}

// scaleKinds are the rows of the curve, in table order: each kind for
// every N (and N = 0 where it has a meaning), so growth reads downwards.
var scaleKinds = []string{"floor", "start", "rss", "perprog", "status", "fds"}

// scale measures the cost curve of issue 13: for each N in ns, every
// target starts N programs (`sleep 100000`, startsecs=1, the startup
// measurement's config) and the harness times exec → the N-th RUNNING
// line, runs the daemon's own status client, then reads its RSS. A run
// with no programs gives the RSS the per-program figure subtracts.
func (h *harness) scale(ctx context.Context, ns []int) {
	runs := h.opt.ScaleStatusRuns
	for _, k := range scaleKinds {
		for _, n := range append([]int{0}, ns...) {
			if n == 0 && (k == "floor" || k == "start" || k == "perprog") {
				continue
			}
			r := scaleRowFor(k, n, runs)
			h.rep.declare(r.id, r.name, r.unit, r.goal).NoRatio = k == "floor"
		}
	}
	h.rep.Notes = append(h.rep.Notes, scaleNote(h.opt.ScaleRedirectStderr))
	set := func(kind string, n int, t *target, c *cell) {
		r := scaleRowFor(kind, n, runs)
		h.rep.set(r.id, r.name, r.unit, r.goal, t.Name, c)
	}
	for _, n := range ns {
		h.progress("scale floor: harness fork+execs %d programs itself", n)
		c, err := spawnFloor(ctx, []string{h.sleep, "100000"}, n, runtime.NumCPU(), false)
		if err != nil {
			c = na(shortErr(err))
		}
		for _, t := range h.targets {
			set("floor", n, t, c)
		}
	}
	for _, t := range h.targets {
		h.progress("%s: scale, no programs", t.Name)
		base := h.scaleStep(ctx, t, 0)
		set("rss", 0, t, base.rss)
		set("status", 0, t, base.status)
		set("fds", 0, t, base.fds)
		skip := ""
		for _, n := range ns {
			if skip != "" {
				for _, k := range scaleKinds[1:] {
					set(k, n, t, na(skip))
				}
				continue
			}
			h.progress("%s: scale, %d programs (deadline %v)", t.Name, n, h.opt.ScaleTimeout)
			st := h.scaleStep(ctx, t, n)
			h.progress("%s: scale, %d programs: %.1f s in all", t.Name, n, st.took.Seconds())
			set("start", n, t, st.start)
			set("rss", n, t, st.rss)
			pp := na("no RSS with 0 programs")
			switch {
			case st.rss.NA != "":
				pp = st.rss
			case base.rssKB > 0:
				pp = value(float64(st.rssKB-base.rssKB)/float64(n), "kB")
			}
			set("perprog", n, t, pp)
			set("status", n, t, st.status)
			set("fds", n, t, st.fds)
			if st.start.NA != "" {
				skip = fmt.Sprintf("skipped: %d programs did not all run", n)
			}
		}
	}
}

// scaleNote says what the scale configs hold and the limits they met.
func scaleNote(redirect bool) string {
	logs := "stdout and stderr logs (AUTO) per program, as in startup"
	if redirect {
		logs = "redirect_stderr=true (-scale-redirect-stderr): one AUTO log per program"
	}
	var nofile, nproc unix.Rlimit
	_ = unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile)
	_ = unix.Getrlimit(unix.RLIMIT_NPROC, &nproc)
	return fmt.Sprintf("scale: `sleep 100000`, startsecs=1, %s; daemons inherit RLIMIT_NOFILE %d (hard %d), RLIMIT_NPROC %d; pid_max %s, threads-max %s",
		logs, nofile.Cur, nofile.Max, nproc.Cur, procValue("/proc/sys/kernel/pid_max"), procValue("/proc/sys/kernel/threads-max"))
}

func procValue(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

// scaleResult is one daemon run of the curve.
type scaleResult struct {
	start, rss, status, fds *cell
	rssKB                   int64 // 0: none
	took                    time.Duration
}

// scaleStep starts t with n programs, waits for all n RUNNING (n = 0: for
// its "started with pid" line, after which it serves), times its own
// status client, then reads its RSS and open fds.
func (h *harness) scaleStep(ctx context.Context, t *target, n int) (r scaleResult) {
	t0 := time.Now()
	defer func() { r.took = time.Since(t0) }()
	fail := func(reason string) scaleResult {
		c := na(reason)
		r.start, r.rss, r.status, r.fds = c, c, c, c
		return r
	}
	dir, err := h.newDir(fmt.Sprintf("%s-scale%d", t.Name, n))
	if err != nil {
		return fail(shortErr(err))
	}
	opts := []string{"startsecs=1"}
	if h.opt.ScaleRedirectStderr {
		opts = append(opts, "redirect_stderr=true")
	}
	conf, err := benchConfig(dir, manyPrograms(n, h.sleep+" 100000", opts...))
	if err != nil {
		return fail(shortErr(err))
	}
	d, err := startDaemon(t, dir, conf)
	if err != nil {
		return fail(shortErr(err))
	}
	defer d.Stop(scaleStopGrace)

	// A program that gave up (FATAL) will never be RUNNING: stop waiting.
	wctx, cancel := context.WithTimeout(ctx, h.opt.ScaleTimeout)
	var reached int64
	err = d.Log.Wait(wctx, d.Exited(), func(s *logState) bool {
		switch {
		case n == 0:
			return s.Counts[kindStarted] > 0
		case len(s.Success) >= n:
			reached = s.Success[n-1]
			return true
		}
		return s.Counts[kindGaveUp] > 0
	})
	cancel()
	c := d.Log.Counts()
	if err == nil && n > 0 && c[kindGaveUp] > 0 {
		err = fmt.Errorf("%d gave up", c[kindGaveUp])
	}
	if err != nil {
		why := d.Why(fmt.Errorf("%d of %d RUNNING after %.0f s: %w", c[kindSuccess], n, time.Since(t0).Seconds(), err))
		if p := firstProblem(d.Log.path); p != "" {
			why += "; first: " + p
		}
		if n == 0 {
			return fail(why)
		}
		// The reason once, on the start row; the others point to it.
		fail(fmt.Sprintf("%d of %d RUNNING: see the start row", c[kindSuccess], n))
		r.start = na(why)
		return r
	}
	if n > 0 {
		r.start = value(float64(reached-d.Start)/1e9, "s")
	}
	rssRunning, _ := rssKB(d.Pid)

	if t.Ctl == nil {
		r.status = na("no status verb")
	} else {
		r.status = timeStatusRuns(ctx, d, t.Ctl(conf), n, h.opt.ScaleStatusRuns, scaleStatusTimeout)
	}
	if fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", d.Pid)); err != nil {
		r.fds = na(d.Why(err))
	} else {
		r.fds = value(float64(len(fds)), "count")
	}
	kb, err := rssKB(d.Pid)
	if err != nil {
		r.rss = na(d.Why(err))
		return r
	}
	r.rssKB = kb
	r.rss = value(float64(kb)/1024, "MB")
	threads, _ := statusField(fmt.Sprintf("/proc/%d/status", d.Pid), "Threads")
	r.rss.Detail = map[string]any{"pid": d.Pid, "rss_kb_at_all_running": rssRunning, "threads": threads}
	return r
}

// firstProblem returns the first line of a main log that says a program
// could not start ("spawnerr: too many open files to spawn 'p3998'") or
// gave up, without its timestamp; "" if none.
func firstProblem(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, "spawnerr: ") && !strings.Contains(line, "gave up: ") {
			continue
		}
		if fs := strings.SplitN(line, " ", 4); len(fs) == 4 {
			line = fs[3]
		}
		return shortErr(errors.New(line))
	}
	return ""
}
