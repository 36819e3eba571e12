package rpc

import (
	"context"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/supervisor"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The fake's UsageBackend: counters derived from its processes, a tree of
// two processes per running one, log counters for the stdout files.

func (f *fakeBackend) ProcessStats(context.Context) ([]supervisor.Stats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []supervisor.Stats
	for _, pi := range f.all() {
		st := supervisor.Stats{Name: pi.Name, Group: pi.Group, State: pi.State, Start: pi.Start, Pid: pi.PID,
			Logs: supervisor.Logs{Stdout: pi.StdoutLogfile}}
		if pi.PID != 0 {
			st.Starts = 2
			st.Exits = map[string]uint64{"0": 1, "SIGKILL": 3}
			st.Reloads, st.ReloadFailures, st.LastReload, st.LastReloadFailed = 3, 1, 1500*time.Millisecond, true
			st.ReadyWait, st.HasReadyWait = 250*time.Millisecond, true
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b supervisor.Stats) int {
		return strings.Compare(a.Group+":"+a.Name, b.Group+":"+b.Name)
	})
	return out, nil
}

func (f *fakeBackend) SampleUsage(st []supervisor.Stats) []supervisor.Usage {
	f.record("SampleUsage")
	out := make([]supervisor.Usage, len(st))
	for i, x := range st {
		out[i] = supervisor.Usage{Name: x.Name, Group: x.Group, Pid: x.Pid, CPUPercent: -1}
		if x.Pid != 0 {
			out[i].Procs, out[i].RSS, out[i].CPU, out[i].CPUPercent = 2, 3<<20, 1250*time.Millisecond, 12.34
		}
	}
	return out
}

func (f *fakeBackend) LogCounters(path string) (int64, int64, bool) {
	return int64(len(path)), 7, strings.HasSuffix(path, "stdout.log")
}

func (f *fakeBackend) DaemonRSS() int64   { return 9 << 20 }
func (f *fakeBackend) Started() time.Time { return fakeStart }

// parseMetrics parses an exposition with the reference parser.
func parseMetrics(t *testing.T, body string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("reference parser: %v\n%s", err, body)
	}
	return fams
}

// value finds the sample of family name whose labels include want.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	fam := fams[name]
	if fam == nil {
		return 0, false
	}
next:
	for _, m := range fam.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

func getMetrics(t *testing.T, url, user, pass string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == 200 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, string(b)
}

// Every family parses with the reference parser, with the values the
// backend gave and the types and help the docs promise.
func TestMetricsFormat(t *testing.T) {
	s, _ := newTestServer(t)
	url := listenInet(t, s, Credentials{Username: "admin", Password: "secret"})
	if code, _ := getMetrics(t, url, "", ""); code != 401 {
		t.Fatalf("no credentials: %d, want 401", code)
	}
	code, body := getMetrics(t, url, "admin", "secret")
	if code != 200 {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
	fams := parseMetrics(t, body)
	b := map[string]string{"group": "g", "name": "b"}
	a := map[string]string{"group": "g", "name": "a"}
	with := func(m map[string]string, k, v string) map[string]string {
		c := map[string]string{k: v}
		for kk, vv := range m {
			c[kk] = vv
		}
		return c
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"drover_program_state", with(b, "state", "RUNNING"), 1},
		{"drover_program_state", with(b, "state", "STOPPED"), 0},
		{"drover_program_state", with(a, "state", "STOPPED"), 1},
		{"drover_program_starts_total", b, 2},
		{"drover_program_starts_total", a, 0},
		{"drover_program_exits_total", with(b, "code", "0"), 1},
		{"drover_program_exits_total", with(b, "code", "SIGKILL"), 3},
		{"drover_program_uptime_seconds", b, fakeNow.Sub(fakeStart).Seconds()},
		{"drover_program_uptime_seconds", a, 0},
		{"drover_program_reloads_total", with(b, "result", "ok"), 2},
		{"drover_program_reloads_total", with(b, "result", "failed"), 1},
		{"drover_program_last_reload_duration_seconds", b, 1.5},
		{"drover_program_last_reload_success", b, 0},
		{"drover_program_ready_wait_seconds", b, 0.25},
		{"drover_program_rss_bytes", b, 3 << 20},
		{"drover_program_cpu_seconds", b, 1.25},
		{"drover_program_processes", b, 2},
		{"drover_program_log_dropped_bytes_total", with(b, "channel", "stdout"), 7},
		{"drover_daemon_rss_bytes", nil, 9 << 20},
		{"drover_daemon_uptime_seconds", nil, fakeNow.Sub(fakeStart).Seconds()},
	} {
		got, ok := value(fams, c.name, c.labels)
		if !ok || got != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if _, ok := value(fams, "drover_program_rss_bytes", a); ok {
		t.Error("a stopped program has an RSS series")
	}
	if _, ok := value(fams, "drover_program_log_written_bytes_total", with(b, "channel", "stderr")); ok {
		t.Error("a log file that is not open has a series")
	}
	if g, ok := value(fams, "drover_daemon_goroutines", nil); !ok || g < 1 {
		t.Errorf("goroutines %v %v", g, ok)
	}
	for name, typ := range map[string]dto.MetricType{
		"drover_program_state": dto.MetricType_GAUGE, "drover_program_starts_total": dto.MetricType_COUNTER,
		"drover_program_exits_total": dto.MetricType_COUNTER, "drover_program_cpu_seconds": dto.MetricType_GAUGE,
		"drover_program_log_written_bytes_total": dto.MetricType_COUNTER,
	} {
		if fams[name] == nil || fams[name].GetType() != typ || fams[name].GetHelp() == "" {
			t.Errorf("%s: %v", name, fams[name])
		}
	}
	// A POST is not a scrape.
	resp, err := http.Post(strings.Replace(url, "http://", "http://admin:secret@", 1)+"/metrics", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("POST /metrics: %d, want 405", resp.StatusCode)
	}
}

// Label values with quotes, backslashes, newlines and invalid UTF-8 come
// back intact (the invalid byte as U+FFFD) through the reference parser.
func TestMetricsEscaping(t *testing.T) {
	odd := `we"b\x` + "\ny\xff"
	m := metricsSnapshot{now: fakeNow, started: fakeStart, stats: []supervisor.Stats{
		{Group: odd, Name: "n", State: supervisor.Running, Start: fakeStart,
			Exits: map[string]uint64{"1": 4}},
	}}
	body := string(m.append(nil))
	fams := parseMetrics(t, body)
	want := strings.ToValidUTF8(odd, "\uFFFD")
	if v, ok := value(fams, "drover_program_exits_total", map[string]string{"group": want, "code": "1"}); !ok || v != 4 {
		t.Fatalf("escaped label not found: %v %v\n%s", v, ok, body)
	}
	for _, v := range []float64{0, 1, 1.5, 1e20, 123456789012, 0.001} {
		got := strings.TrimSpace(string(appendFloat(nil, v)))
		p := parseMetrics(t, "x "+got+"\n")
		if f := p["x"].Metric[0].Untyped.GetValue(); f != v && !(math.IsNaN(f) && math.IsNaN(v)) {
			t.Errorf("%v written as %q read as %v", v, got, f)
		}
	}
}

// The access rules: a caller sees only the programs it may read, and one
// that no rule names gets 403; nobody samples for a refused scrape.
func TestMetricsAccess(t *testing.T) {
	url, _, f := accessServer(t)
	code, body := getMetrics(t, url, "deploy", "d3ploy")
	if code != 200 {
		t.Fatalf("deploy: %d %s", code, body)
	}
	fams := parseMetrics(t, body)
	if _, ok := value(fams, "drover_program_starts_total", map[string]string{"group": "g", "name": "b"}); !ok {
		t.Error("deploy does not see g:b")
	}
	if _, ok := value(fams, "drover_program_starts_total", map[string]string{"group": "cat"}); ok {
		t.Error("deploy sees cat, which no rule lets it read")
	}
	code, body = getMetrics(t, url, "ops", "test")
	if code != 200 || !strings.Contains(body, `group="cat"`) {
		t.Errorf("ops (read *): %d, cat missing", code)
	}
	f.mu.Lock()
	f.calls = nil
	f.mu.Unlock()
	if code, _ := getMetrics(t, url, "intruder", "x"); code != 403 {
		t.Errorf("intruder: %d, want 403", code)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if slices.Contains(f.calls, "SampleUsage") {
		t.Error("a refused scrape sampled the trees")
	}
}

// drover.getAllProcessUsage: one row per readable process, figures only
// for running ones, -1 for an unknown percent.
func TestGetAllProcessUsage(t *testing.T) {
	s, _ := newTestServer(t)
	v, err := s.Call(context.Background(), "drover.getAllProcessUsage")
	if err != nil {
		t.Fatal(err)
	}
	got := norm(t, v)
	want := []any{
		[]any{"cat", "cat", 100, 2, 3072, 1.25, 12.3},
		[]any{"g", "a", 0, 0, 0, 0.0, -1.0},
		[]any{"g", "b", 102, 2, 3072, 1.25, 12.3},
	}
	if !equalAny(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
}

func equalAny(a, b any) bool {
	switch a := a.(type) {
	case []any:
		bb, ok := b.([]any)
		if !ok || len(a) != len(bb) {
			return false
		}
		for i := range a {
			if !equalAny(a[i], bb[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

// BenchmarkMetrics500 is the cost of one scrape's formatting with 500
// programs (the sampling of /proc is measured by the daemon's benchmark).
func BenchmarkMetrics500(b *testing.B) {
	m := metricsSnapshot{now: fakeNow, started: fakeStart, logs: func(string) (int64, int64, bool) { return 12345, 0, true }}
	for i := range 500 {
		name := "prog" + strings.Repeat("x", i%7) + string(rune('a'+i%26))
		m.stats = append(m.stats, supervisor.Stats{Group: "g" + name, Name: name, State: supervisor.Running, Start: fakeStart,
			Pid: 1000 + i, Starts: 3, Exits: map[string]uint64{"0": 2}, Logs: supervisor.Logs{Stdout: "/x/" + name}})
		m.usage = append(m.usage, supervisor.Usage{Procs: 1, RSS: 5 << 20, CPU: time.Second})
	}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = m.append(buf[:0])
	}
	b.ReportMetric(float64(len(buf)), "bytes/scrape")
}
