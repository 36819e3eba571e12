package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Deadlines of the reload measurement's steps.
const (
	reloadCmdTimeout = 90 * time.Second // drover's graceful_timeout is 30 s
	appUpTimeout     = 30 * time.Second
)

// reloadRows are the rows the reload measurement fills, by id.
type reloadRows struct {
	Duration, Failed, SteadyP99, ReloadP99, Ratio *cell
}

func (r *reloadRows) all(c *cell) {
	r.Duration, r.Failed, r.SteadyP99, r.ReloadP99, r.Ratio = c, c, c, c, c
}

// reload runs one web app (the "serve" child) under t, puts the load
// client on it, waits a steady-state window, then reloads it
// h.opt.Reloads times with t's own reload command, a quiet window after
// each, and reports the command's duration, the failed requests and the
// p99 latency in steady state and during the reload windows.
func (h *harness) reload(ctx context.Context, t *target) (r reloadRows) {
	fail := func(reason string) reloadRows {
		r.all(na(reason))
		return r
	}
	if t.Reload == nil {
		return fail("no reload command")
	}
	dir, n, err := h.newRun(t.Name + "-reload")
	if err != nil {
		return fail(shortErr(err))
	}
	defer n.Close()
	port, err := freePort()
	if err != nil {
		return fail(shortErr(err))
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	const name = "web"
	opts := []string{"startsecs=1", "autorestart=true", "stopsignal=TERM", "redirect_stderr=true"}
	if t.ReloadOptions != nil {
		opts = append(opts, t.ReloadOptions(addr)...)
	}
	conf, err := benchConfig(dir, []program{{Name: name, Command: h.self + " serve " + n.Path + " " + addr, Options: opts}})
	if err != nil {
		return fail(shortErr(err))
	}
	d, err := startDaemon(t, dir, conf)
	if err != nil {
		return fail(shortErr(err))
	}
	defer d.Stop(stopGrace)

	first, err := waitNote(ctx, n, d.Exited(), appUpTimeout, func(nt note) bool { return nt.Kind == noteInherit || nt.Kind == noteBind })
	if err != nil {
		return fail(d.Why(fmt.Errorf("app: %w", err)))
	}
	lctx, cancel := context.WithTimeout(ctx, appUpTimeout)
	err = d.Log.Wait(lctx, d.Exited(), func(s *logState) bool { return len(s.Success) > 0 })
	cancel()
	if err != nil {
		return fail(d.Why(fmt.Errorf("app RUNNING: %w", err)))
	}

	lg := startLoad(addr, h.opt.LoadKeepAlive, h.opt.LoadNewConn, h.opt.RequestTimeout)
	stopWait := h.opt.RequestTimeout + failPause + 5*time.Second
	steady := span{From: lg.Now()}
	if err := h.window(ctx, d, h.opt.ReloadSteady); err != nil {
		_, _, _ = lg.Stop(stopWait)
		return fail(d.Why(fmt.Errorf("steady state: %w", err)))
	}
	steady.To = lg.Now()
	var windows []span
	var durs []float64
	var cmdErrs []string
	for i := range h.opt.Reloads {
		w, out, err := h.runReload(ctx, t, lg, conf, name)
		windows = append(windows, w)
		durs = append(durs, ms(int64(w.To-w.From)))
		if err != nil {
			cmdErrs = append(cmdErrs, fmt.Sprintf("reload %d: %s: %s", i+1, shortErr(err), firstLineOf(out)))
		}
		if err := h.window(ctx, d, h.opt.ReloadQuiet); err != nil {
			_, _, _ = lg.Stop(stopWait)
			return fail(d.Why(fmt.Errorf("after reload %d: %w", i+1, err)))
		}
	}
	end := lg.Now()
	samples, fails, err := lg.Stop(stopWait)
	if err != nil {
		return fail(shortErr(err))
	}
	s := summarize(samples, steady, windows, end)
	detail := map[string]any{
		"reloads":                     h.opt.Reloads,
		"app_socket":                  first.Kind,
		"generations_seen":            s.Generations,
		"requests_total":              len(samples),
		"requests_from_reload_1":      s.Requests,
		"failed_by_outcome":           s.FailedByOutcome,
		"failed_in_windows":           s.FailedInWindows,
		"failed_on_reused_conn":       s.FailedReused,
		"failed_steady_state":         s.FailedSteady,
		"longest_no_answer_ms":        ms(int64(s.LongestSilence)),
		"longest_no_answer_steady_ms": ms(int64(s.SteadySilence)),
		"steady_requests":             s.SteadyN,
		"reload_window_requests":      s.ReloadN,
		"load":                        fmt.Sprintf("%d keep-alive + %d new-connection clients", h.opt.LoadKeepAlive, h.opt.LoadNewConn),
	}
	if len(cmdErrs) > 0 {
		detail["reload_errors"] = cmdErrs
	}
	if len(fails) > 0 {
		detail["failures_first"] = describeFailures(fails, windows, 10)
	}

	if len(cmdErrs) > 0 {
		r.Duration = na(cmdErrs[0])
	} else {
		r.Duration = value(median(durs), "ms")
	}
	r.Duration.Samples = durs
	r.Failed = value(float64(s.Failed), "count")
	r.Failed.Text = fmt.Sprintf("%d of %d", s.Failed, s.Requests)
	r.Failed.Detail = detail
	r.SteadyP99 = msCell(s.SteadyP99, "no successful request in steady state")
	r.ReloadP99 = msCell(s.ReloadP99, "no successful request during the reloads")
	if r.SteadyP99.NA == "" && r.ReloadP99.NA == "" && s.SteadyP99 > 0 {
		q := s.ReloadP99 / s.SteadyP99
		r.Ratio = &cell{Value: q, Text: fmt.Sprintf("%.2f×", q)}
	} else {
		r.Ratio = na("no p99 to compare")
	}
	return r
}

// describeFailures tells up to limit failures: when (against the reload
// windows and the wall clock, to match the daemon's log), on what kind
// of connection, and the error.
func describeFailures(fails []failure, windows []span, limit int) []string {
	var out []string
	for _, f := range fails[:min(len(fails), limit)] {
		where := "before the reloads"
		for i, w := range windows {
			if f.Start >= w.From {
				where = fmt.Sprintf("reload %d %+.1f ms", i+1, ms(int64(f.Start-w.From)))
			}
		}
		client := "new-connection client"
		if f.KeepAlive {
			client = "keep-alive client"
		}
		conn := "fresh connection"
		if f.Reused {
			conn = "reused connection"
		}
		out = append(out, fmt.Sprintf("%s (at %s), %s, %s, after %.1f ms: %s: %s",
			where, f.Wall.UTC().Format("15:04:05.000"), client, conn, ms(int64(f.Dur)), f.Out, f.Err))
	}
	return out
}

// runReload runs t's reload command once and returns its window on the
// load's clock, its output and its error (a non-zero exit included).
func (h *harness) runReload(ctx context.Context, t *target, lg *loadGen, conf, name string) (span, string, error) {
	argv := t.Reload(conf, name)
	cctx, cancel := context.WithTimeout(ctx, reloadCmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, argv[0], argv[1:]...)
	from := lg.Now()
	out, err := cmd.CombinedOutput()
	w := span{From: from, To: lg.Now()}
	if err == nil && cctx.Err() != nil {
		err = cctx.Err()
	}
	return w, string(out), err
}

// window waits d (a measurement window, not a wait for an event), or
// fails early when the daemon exits or ctx ends.
func (h *harness) window(ctx context.Context, d *daemon, dur time.Duration) error {
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-d.Exited():
		return errDaemonExited
	case <-ctx.Done():
		return ctx.Err()
	}
}

// msCell makes a millisecond cell, or n/a with why when v is NaN.
func msCell(v float64, why string) *cell {
	if v != v { // NaN
		return na(why)
	}
	return value(v, "ms")
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago
// (the daemon, or the app for supervisord, binds it next).
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	ta, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("free port: not a TCP address")
	}
	return ta.Port, nil
}

// firstLineOf is the first non-empty line of s, or "(no output)".
func firstLineOf(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return "(no output)"
}
