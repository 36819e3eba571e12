package rpc

import (
	"context"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/drover-sh/drover/internal/httpwire"
	"github.com/drover-sh/drover/internal/supervisor"
)

// UsageBackend is the optional part of a Backend that serves GET /metrics
// and drover.getAllProcessUsage; without it both are unavailable (404,
// FAILED). Everything is read when asked: nothing is sampled or counted
// in advance beyond the core's counters.
type UsageBackend interface {
	// ProcessStats is every process's counters and pids.
	ProcessStats(ctx context.Context) ([]supervisor.Stats, error)
	// SampleUsage samples the process trees of st now (nil when the host
	// cannot).
	SampleUsage(st []supervisor.Stats) []supervisor.Usage
	// LogCounters is the bytes written and dropped through the log file
	// at path since it was opened; ok false when it is not open.
	LogCounters(path string) (written, dropped int64, ok bool)
	// DaemonRSS is the daemon's own resident set in bytes; Started when
	// it started.
	DaemonRSS() int64
	Started() time.Time
}

// isMetricsPath reports whether target is GET /metrics (with or without a
// query string).
func isMetricsPath(target string) bool {
	rest, ok := strings.CutPrefix(target, "/metrics")
	return ok && (rest == "" || rest[0] == '?')
}

// serveMetrics answers GET /metrics in the Prometheus text format (0.0.4)
// with the series of the programs the caller may read.
func (s *Server) serveMetrics(w *httpwire.ResponseWriter, r *httpwire.Request) {
	if r.Method != "GET" && r.Method != "HEAD" {
		w.Header.Set("Allow", "GET, HEAD")
		w.Error(405, "405 Method Not Allowed")
		return
	}
	ub, ok := s.opts.Backend.(UsageBackend)
	if !ok {
		w.Error(404, "404 page not found")
		return
	}
	g := grantFrom(r.Context())
	if !g.rights.Any() {
		w.Error(403, "403 Forbidden: access denied: "+g.who()+": no [access:x] rule names it")
		return
	}
	buf, err := s.metrics(r.Context(), ub, s.metricsSize.Load())
	if err != nil {
		w.Error(503, "503 Service Unavailable: "+err.Error())
		return
	}
	s.metricsSize.Store(int64(len(buf)))
	w.Header = append(w.Header, httpwire.Field{Name: "Content-Type", Value: "text/plain; version=0.0.4; charset=utf-8"})
	_ = w.Reply(200, buf)
}

// metrics builds the exposition for ctx's caller.
func (s *Server) metrics(ctx context.Context, ub UsageBackend, hint int64) ([]byte, error) {
	st, err := ub.ProcessStats(ctx)
	if err != nil {
		return nil, err
	}
	st = visible(ctx, st, func(x supervisor.Stats) (string, string) { return x.Group, x.Name })
	snap := metricsSnapshot{
		now: s.opts.Now(), stats: st, usage: ub.SampleUsage(st), logs: ub.LogCounters,
		daemonRSS: ub.DaemonRSS(), started: ub.Started(), goroutines: runtime.NumGoroutine(),
	}
	return snap.append(make([]byte, 0, hint+4096)), nil
}

// metricsSnapshot is what one scrape reports.
type metricsSnapshot struct {
	now        time.Time
	stats      []supervisor.Stats
	usage      []supervisor.Usage // same order as stats; nil: not sampled
	logs       func(path string) (written, dropped int64, ok bool)
	daemonRSS  int64
	started    time.Time
	goroutines int
}

// metricStates are the states drover_program_state reports, one series
// each (one-hot).
var metricStates = []supervisor.State{
	supervisor.Stopped, supervisor.Starting, supervisor.Running, supervisor.Backoff,
	supervisor.Stopping, supervisor.Exited, supervisor.Fatal, supervisor.Unknown,
}

// append writes every family: HELP and TYPE, then one series per program
// (or per program and label) that has a value.
func (m *metricsSnapshot) append(b []byte) []byte {
	b = family(b, "drover_program_state", "gauge", "1 for the program's current state (supervisord's state names), 0 for the others.")
	for i := range m.stats {
		x := &m.stats[i]
		for _, state := range metricStates {
			v := 0.0
			if x.State == state {
				v = 1
			}
			b = sample(b, "drover_program_state", x, "state", state.String(), v)
		}
	}
	b = family(b, "drover_program_starts_total", "counter", "Spawns of the program since the daemon started, every generation (a blue/green hand-off's new one too).")
	for i := range m.stats {
		b = sample(b, "drover_program_starts_total", &m.stats[i], "", "", float64(m.stats[i].Starts))
	}
	b = family(b, "drover_program_exits_total", "counter", "Exits of the program's main process by exit status, or by signal name when it was killed.")
	for i := range m.stats {
		x := &m.stats[i]
		codes := make([]string, 0, len(x.Exits))
		for k := range x.Exits {
			codes = append(codes, k)
		}
		slices.Sort(codes)
		for _, code := range codes {
			b = sample(b, "drover_program_exits_total", x, "code", code, float64(x.Exits[code]))
		}
	}
	b = family(b, "drover_program_uptime_seconds", "gauge", "Seconds since the program's last start while it is RUNNING, 0 otherwise.")
	for i := range m.stats {
		x := &m.stats[i]
		v := 0.0
		if x.State == supervisor.Running && !x.Start.IsZero() {
			v = max(0, m.now.Sub(x.Start).Seconds())
		}
		b = sample(b, "drover_program_uptime_seconds", x, "", "", v)
	}
	b = family(b, "drover_program_reloads_total", "counter", "Finished reload requests (drover reload, drover update hand-offs) by result.")
	for i := range m.stats {
		x := &m.stats[i]
		if x.Reloads == 0 {
			continue
		}
		b = sample(b, "drover_program_reloads_total", x, "result", "ok", float64(x.Reloads-x.ReloadFailures))
		b = sample(b, "drover_program_reloads_total", x, "result", "failed", float64(x.ReloadFailures))
	}
	b = family(b, "drover_program_last_reload_duration_seconds", "gauge", "How long the last reload request took, from the request to its answer.")
	for i := range m.stats {
		if x := &m.stats[i]; x.Reloads > 0 {
			b = sample(b, "drover_program_last_reload_duration_seconds", x, "", "", x.LastReload.Seconds())
		}
	}
	b = family(b, "drover_program_last_reload_success", "gauge", "1 when the last reload request succeeded, 0 when it failed.")
	for i := range m.stats {
		if x := &m.stats[i]; x.Reloads > 0 {
			v := 1.0
			if x.LastReloadFailed {
				v = 0
			}
			b = sample(b, "drover_program_last_reload_success", x, "", "", v)
		}
	}
	b = family(b, "drover_program_ready_wait_seconds", "gauge", "How long the last generation took to pass its readiness probe (programs with ready=).")
	for i := range m.stats {
		if x := &m.stats[i]; x.HasReadyWait {
			b = sample(b, "drover_program_ready_wait_seconds", x, "", "", x.ReadyWait.Seconds())
		}
	}
	b = m.appendLogs(b)
	b = m.appendUsage(b)
	b = family(b, "drover_daemon_rss_bytes", "gauge", "The daemon's own resident set size.")
	b = plain(b, "drover_daemon_rss_bytes", float64(m.daemonRSS))
	b = family(b, "drover_daemon_goroutines", "gauge", "The daemon's goroutines.")
	b = plain(b, "drover_daemon_goroutines", float64(m.goroutines))
	b = family(b, "drover_daemon_uptime_seconds", "gauge", "Seconds since the daemon started.")
	return plain(b, "drover_daemon_uptime_seconds", max(0, m.now.Sub(m.started).Seconds()))
}

// appendLogs writes the log counters of the files open now. A file shared
// by several programs (or both channels) is counted under each.
func (m *metricsSnapshot) appendLogs(b []byte) []byte {
	type row struct {
		x                *supervisor.Stats
		channel          string
		written, dropped int64
	}
	var rows []row
	for i := range m.stats {
		x := &m.stats[i]
		for _, ch := range [2]struct{ name, path string }{{"stdout", x.Logs.Stdout}, {"stderr", x.Logs.Stderr}} {
			if ch.path == "" || m.logs == nil {
				continue
			}
			if w, d, ok := m.logs(ch.path); ok {
				rows = append(rows, row{x, ch.name, w, d})
			}
		}
	}
	b = family(b, "drover_program_log_written_bytes_total", "counter", "Bytes written to the program's log file since the file was opened (while a generation writes to it).")
	for _, r := range rows {
		b = sample(b, "drover_program_log_written_bytes_total", r.x, "channel", r.channel, float64(r.written))
	}
	b = family(b, "drover_program_log_dropped_bytes_total", "counter", "Bytes of the program's output that could not be written to its log file (full disk, I/O error).")
	for _, r := range rows {
		b = sample(b, "drover_program_log_dropped_bytes_total", r.x, "channel", r.channel, float64(r.dropped))
	}
	return b
}

// appendUsage writes the sampled trees of the running programs.
func (m *metricsSnapshot) appendUsage(b []byte) []byte {
	b = family(b, "drover_program_rss_bytes", "gauge", "Resident set of the program's process tree (main process and descendants, both generations during a hand-off).")
	for i := range m.usage {
		if m.usage[i].Procs > 0 {
			b = sample(b, "drover_program_rss_bytes", &m.stats[i], "", "", float64(m.usage[i].RSS))
		}
	}
	b = family(b, "drover_program_cpu_seconds", "gauge", "User and system CPU time of the processes alive now in the program's tree (drops when one exits: a gauge, not a counter).")
	for i := range m.usage {
		if m.usage[i].Procs > 0 {
			b = sample(b, "drover_program_cpu_seconds", &m.stats[i], "", "", m.usage[i].CPU.Seconds())
		}
	}
	b = family(b, "drover_program_processes", "gauge", "Processes in the program's tree.")
	for i := range m.usage {
		if m.usage[i].Procs > 0 {
			b = sample(b, "drover_program_processes", &m.stats[i], "", "", float64(m.usage[i].Procs))
		}
	}
	return b
}

func family(b []byte, name, typ, help string) []byte {
	b = append(b, "# HELP "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = appendEscaped(b, help, false)
	b = append(b, "\n# TYPE "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, typ...)
	return append(b, '\n')
}

// sample writes name{group="..",name=".."[,key="val"]} v.
func sample(b []byte, name string, x *supervisor.Stats, key, val string, v float64) []byte {
	b = append(b, name...)
	b = append(b, `{group="`...)
	b = appendEscaped(b, x.Group, true)
	b = append(b, `",name="`...)
	b = appendEscaped(b, x.Name, true)
	b = append(b, '"')
	if key != "" {
		b = append(b, ',')
		b = append(b, key...)
		b = append(b, `="`...)
		b = appendEscaped(b, val, true)
		b = append(b, '"')
	}
	b = append(b, "} "...)
	return appendFloat(b, v)
}

func plain(b []byte, name string, v float64) []byte {
	b = append(b, name...)
	b = append(b, ' ')
	return appendFloat(b, v)
}

func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		b = append(b, "NaN"...)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		b = strconv.AppendInt(b, int64(v), 10)
	default:
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
	}
	return append(b, '\n')
}

// appendEscaped escapes s for a HELP text (backslash, newline) or a label
// value (also the double quote), as the text format requires. Invalid
// UTF-8 becomes U+FFFD.
func appendEscaped(b []byte, s string, label bool) []byte {
	if plainText(s) {
		return append(b, s...)
	}
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '\\':
			b = append(b, `\\`...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '"' && label:
			b = append(b, `\"`...)
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return b
}

// plainText reports whether s needs no escaping (the usual name).
func plainText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\\' || c == '\n' || c == '"' || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// usageRows answers drover.getAllProcessUsage: [group, name, pid,
// processes, rss_kb, cpu_seconds, cpu_percent] for every process the
// caller may read; cpu_percent is -1 when unknown (no recent sample to
// compare with), and every figure 0 when the process is not running.
func usageRows(ctx context.Context, d *dispatcher, _ args) (any, error) {
	ub, ok := d.b.(UsageBackend)
	if !ok {
		return nil, supervisor.NewFault(supervisor.CodeFailed, "usage not available")
	}
	st, err := ub.ProcessStats(ctx)
	if err != nil {
		return nil, err
	}
	st = visible(ctx, st, func(x supervisor.Stats) (string, string) { return x.Group, x.Name })
	us := ub.SampleUsage(st)
	out := make([]any, len(st))
	for i := range st {
		row := []any{st[i].Group, st[i].Name, st[i].Pid, 0, 0, 0.0, -1.0}
		if i < len(us) && us[i].Procs > 0 {
			u := us[i]
			row[3], row[4], row[5] = u.Procs, int(u.RSS>>10), u.CPU.Seconds()
			row[6] = math.Round(u.CPUPercent*10) / 10
		}
		out[i] = row
	}
	return out, nil
}
