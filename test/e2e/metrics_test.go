//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/rpc"
	"github.com/drover-sh/drover/internal/testenv"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape is one GET /metrics: promtool accepts it, the reference parser
// reads it.
type scrape map[string]*dto.MetricFamily

// get finds the value of family name for program web-like labels.
func (s scrape) get(name string, labels ...string) (float64, bool) {
	fam := s[name]
	if fam == nil {
		return 0, false
	}
next:
	for _, m := range fam.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if got[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		}
	}
	return 0, false
}

func (s scrape) must(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	v, ok := s.get(name, labels...)
	if !ok {
		t.Fatalf("no %s%v in the scrape", name, labels)
	}
	return v
}

// scrapeMetrics GETs /metrics with the template's inet credentials, checks
// it with `promtool check metrics` and parses it.
func scrapeMetrics(t *testing.T, promtool, base string) scrape {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.SetBasicAuth("user", "secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %v\n%s", resp.StatusCode, err, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(string(body))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s\n--- exposition:\n%s", err, out, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("reference parser: %v", err)
	}
	return fams
}

// TestE2EMetrics: /metrics passes promtool and its series follow a program
// as it is stopped, started, reloaded blue/green and as it writes logs;
// `drover status` shows CPU and RSS with --usage and in --json.
func TestE2EMetrics(t *testing.T) {
	promtool := testenv.LookPath(t, "promtool", "apt-get install prometheus")
	port, webPort := freePort(t), freePort(t)
	dir, web := zdServers[len(zdServers)-1].setup(t, "drover", webPort)
	if !strings.Contains(web, "zd-serve") {
		t.Fatal("the last zdServer is not plain-go")
	}
	echo := fmt.Sprintf("\n[program:echo]\ncommand = %s\nstartsecs = 0\nstdout_logfile = %s/echo.log\n", childCmd("echo"), dir)
	d := startDaemon(t, "drover", config{Bare: true, InetPort: port, Raw: web + echo})
	d.waitLog(0, `success: web entered RUNNING`, `success: echo entered RUNNING`)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	web1 := []string{"group", "web", "name", "web"}
	with := func(kv ...string) []string { return append(append([]string{}, web1...), kv...) }

	s := scrapeMetrics(t, promtool, base)
	if s.must(t, "drover_program_state", with("state", "RUNNING")...) != 1 ||
		s.must(t, "drover_program_starts_total", web1...) != 1 ||
		s.must(t, "drover_program_rss_bytes", web1...) <= 0 ||
		s.must(t, "drover_program_processes", web1...) < 1 ||
		s.must(t, "drover_program_uptime_seconds", web1...) < 0 ||
		s.must(t, "drover_daemon_rss_bytes") <= 0 {
		t.Fatalf("running web: %v", s)
	}
	s.must(t, "drover_program_cpu_seconds", web1...)
	s.must(t, "drover_program_ready_wait_seconds", web1...)
	if _, ok := s.get("drover_program_reloads_total", web1...); ok {
		t.Error("reloads before any reload")
	}

	// Stopped: the state moves, the exit is counted, the tree is gone.
	if r := d.droverCtl("stop", "web"); r.Code != 0 {
		t.Fatalf("stop: %v", r)
	}
	s = scrapeMetrics(t, promtool, base)
	if s.must(t, "drover_program_state", with("state", "STOPPED")...) != 1 ||
		s.must(t, "drover_program_state", with("state", "RUNNING")...) != 0 ||
		s.must(t, "drover_program_uptime_seconds", web1...) != 0 {
		t.Errorf("stopped web: state or uptime wrong")
	}
	if fam := s["drover_program_exits_total"]; fam == nil || len(fam.Metric) == 0 {
		t.Error("no exit counted after the stop")
	}
	if _, ok := s.get("drover_program_rss_bytes", web1...); ok {
		t.Error("a stopped program has an RSS series")
	}

	// Started again, then reloaded blue/green: two more spawns, one
	// successful reload with its duration.
	if r := d.droverCtl("start", "web"); r.Code != 0 {
		t.Fatalf("start: %v", r)
	}
	s = scrapeMetrics(t, promtool, base)
	if s.must(t, "drover_program_starts_total", web1...) != 2 || s.must(t, "drover_program_state", with("state", "RUNNING")...) != 1 {
		t.Errorf("started web: starts %v", s.must(t, "drover_program_starts_total", web1...))
	}
	if r := d.droverCtl("reload", "web"); r.Code != 0 {
		t.Fatalf("reload: %v", r)
	}
	s = scrapeMetrics(t, promtool, base)
	if got := s.must(t, "drover_program_starts_total", web1...); got != 3 {
		t.Errorf("after the reload: %v starts, want 3", got)
	}
	if s.must(t, "drover_program_reloads_total", with("result", "ok")...) != 1 ||
		s.must(t, "drover_program_reloads_total", with("result", "failed")...) != 0 ||
		s.must(t, "drover_program_last_reload_success", web1...) != 1 ||
		s.must(t, "drover_program_last_reload_duration_seconds", web1...) <= 0 {
		t.Errorf("reload series wrong")
	}
	zdReportf(t, "metrics: blue/green reload of plain-go took %.3f s, ready after %.3f s (from /metrics)",
		s.must(t, "drover_program_last_reload_duration_seconds", web1...), s.must(t, "drover_program_ready_wait_seconds", web1...))

	// Log bytes: echo writes what it is sent; /logtail shows it when the
	// writer has counted it.
	echo1 := []string{"group", "echo", "name", "echo", "channel", "stdout"}
	before := s.must(t, "drover_program_log_written_bytes_total", echo1...)
	follow := followLog(t, base+"/logtail/echo", "metrics line")
	c, err := rpc.NewClientAuth(base, rpc.ClientAuth{Username: "user", Password: "secret", Calls: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := c.Call(ctx, "supervisor.sendProcessStdin", "echo", "metrics line\n"); err != nil {
		t.Fatal(err)
	}
	<-follow
	s = scrapeMetrics(t, promtool, base)
	if after := s.must(t, "drover_program_log_written_bytes_total", echo1...); after != before+float64(len("metrics line\n")) {
		t.Errorf("log written bytes %v then %v", before, after)
	}
	if s.must(t, "drover_program_log_dropped_bytes_total", echo1...) != 0 {
		t.Error("bytes dropped")
	}

	// drover status: CPU and RSS columns with --usage, the fields in --json.
	r := d.droverCtl("status", "--usage", "web")
	if r.Code != 0 || !strings.Contains(r.Stdout, "M ") && !strings.Contains(r.Stdout, "K ") {
		t.Errorf("status --usage: %v", r)
	}
	if plain := d.droverCtl("status", "web"); strings.Contains(plain.Stdout, "K ") || strings.Contains(plain.Stdout, "M  ") {
		t.Errorf("status off a terminal shows usage: %q", plain.Stdout)
	}
	r = d.droverCtl("status", "--json", "web")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &rows); err != nil || len(rows) != 1 {
		t.Fatalf("status --json: %v %v", r, err)
	}
	if rss, _ := rows[0]["rss_bytes"].(float64); rss <= 0 {
		t.Errorf("status --json: rss_bytes %v", rows[0]["rss_bytes"])
	}
	if _, ok := rows[0]["cpu_seconds"].(float64); !ok {
		t.Errorf("status --json: cpu_seconds %v", rows[0]["cpu_seconds"])
	}
	t.Logf("status --usage: %s", strings.TrimSpace(d.droverCtl("status", "--usage").Stdout))
}

// followLog streams url (a /logtail) and closes the channel once a line
// containing want arrived (20 s deadline, then the test fails).
func followLog(t *testing.T, url, want string) <-chan struct{} {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.SetBasicAuth("user", "secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.Contains(sc.Text(), want) {
				close(done)
				return
			}
		}
		t.Errorf("%s ended without %q", url, want)
		close(done)
	}()
	return done
}
