package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"
)

// usageRows measures, on the fleet's daemon, what a person or a scraper
// looking at CPU and RSS costs (issue 16): `drover status --usage` (the
// status lines plus every tree sampled from /proc) and GET /metrics over
// the control socket. An old drover or supervisord has neither: n/a.
// rss is the daemon's VmRSS after those runs.
func (h *harness) usageRows(ctx context.Context, t *target, d *daemon, dir, conf string, n int) (status, scrape, rss *cell) {
	if t.Name == targetSupervisord || t.Ctl == nil {
		return na("no CPU/RSS columns"), na("no /metrics"), na("no /metrics")
	}
	own := append(t.Ctl(conf), "--usage")
	status = h.timeStatus(ctx, d, own, n)
	scrape = timeScrape(ctx, d, filepath.Join(dir, "ctl.sock"), n, h.opt.StatusRuns)
	if kb, err := rssKB(d.Pid); err != nil {
		rss = na(shortErr(err))
	} else {
		rss = value(float64(kb)/1024, "MB")
	}
	return status, scrape, rss
}

// timeScrape GETs /metrics runs times on one kept-alive connection and
// returns the median wall time; each answer must be 200 and carry the RSS
// of n programs.
func timeScrape(ctx context.Context, d *daemon, sock string, n, runs int) *cell {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: statusTimeout}
	var lat []float64
	var size int
	for i := range runs {
		req, err := http.NewRequestWithContext(ctx, "GET", "http://localhost/metrics", nil)
		if err != nil {
			return na(shortErr(err))
		}
		t0 := mono()
		resp, err := c.Do(req)
		if err != nil {
			return na(d.Why(fmt.Errorf("run %d: %w", i, err)))
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		t1 := mono()
		if err != nil || resp.StatusCode != 200 {
			return na(fmt.Sprintf("run %d: %s %v", i, resp.Status, err))
		}
		if got := strings.Count(string(b), "drover_program_rss_bytes{"); got < n {
			return na(fmt.Sprintf("RSS of %d of %d programs", got, n))
		}
		size = len(b)
		lat = append(lat, ms(t1-t0))
	}
	cl := value(median(lat), "ms")
	cl.Samples = lat
	cl.Detail = map[string]any{"bytes": size, "at": time.Now().Format(time.RFC3339)}
	return cl
}
