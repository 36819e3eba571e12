package daemon

import (
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/supervisor"
)

// sleepHost spawns real `sleep` processes (so that sampling reads real
// /proc entries) and samples them as the daemon does.
type sleepHost struct {
	pidHost
	os *osHost
	mu sync.Mutex
	cs []*exec.Cmd
}

func (h *sleepHost) Spawn(supervisor.SpawnRequest) (supervisor.Child, error) {
	cmd := exec.Command("sleep", "3600")
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.cs = append(h.cs, cmd)
	h.mu.Unlock()
	return pidChild(cmd.Process.Pid), nil
}

func (h *sleepHost) SampleTrees(roots []int) map[int]supervisor.TreeUsage {
	return h.os.SampleTrees(roots)
}

func (h *sleepHost) kill() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.cs {
		_ = c.Process.Kill()
		_ = c.Wait()
	}
}

// BenchmarkScrape500 is one GET /metrics with 500 RUNNING programs, each a
// real process whose tree is sampled from /proc, over a kept-alive unix
// socket connection: the cost of one Prometheus scrape.
func BenchmarkScrape500(b *testing.B) {
	benchUsageEndpoint(b, "GET", "/metrics", "")
}

// BenchmarkServeUsage500 is drover.getAllProcessUsage (what `drover
// status` adds on a terminal) with the same 500 real processes.
func BenchmarkServeUsage500(b *testing.B) {
	benchUsageEndpoint(b, "POST", "/RPC2",
		"<?xml version='1.0'?>\n<methodCall>\n<methodName>drover.getAllProcessUsage</methodName>\n<params>\n</params>\n</methodCall>\n")
}

func benchUsageEndpoint(b *testing.B, method, path, body string) {
	const n = 500
	log := slog.New(slog.DiscardHandler)
	h := &sleepHost{os: newOSHost(nil, log)}
	b.Cleanup(h.kill)
	d := statusDaemonOn(b, n, h)
	d.host, d.started = h.os, time.Now()
	c := serveOnSocket(b, d)
	b.ReportAllocs()
	var size int64
	for b.Loop() {
		req, _ := http.NewRequest(method, "http://localhost"+path, strings.NewReader(body))
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var sb strings.Builder
		size, err = io.Copy(&sb, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || size < n*100 {
			b.Fatal(resp.Status, size, err)
		}
		if method == "GET" && strings.Count(sb.String(), "drover_program_rss_bytes{") != n {
			b.Fatalf("%d RSS series, want %d", strings.Count(sb.String(), "drover_program_rss_bytes{"), n)
		}
	}
	b.ReportMetric(float64(size), "bytes/answer")
}
