//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// httpAnswer is what the suite compares of one raw HTTP exchange: the
// status and the headers clients depend on.
func (d *daemon) httpAnswer(method, path, body string) string {
	d.t.Helper()
	sock := filepath.Join(d.dir, "supervisor.sock")
	c := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", sock)
		},
		DisableKeepAlives: true,
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://localhost"+path, strings.NewReader(body))
	if err != nil {
		d.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "text/xml")
	}
	resp, err := c.Do(req)
	if err != nil {
		return "error: " + err.Error()
	}
	// Log streams never end: only the head counts.
	resp.Body.Close()
	ct := resp.Header.Get("Content-Type")
	if resp.StatusCode != http.StatusOK {
		ct = "" // error pages differ in wording and type
	}
	return fmt.Sprintf("%d %s accel=%q", resp.StatusCode, ct, resp.Header.Get("X-Accel-Buffering"))
}

// TestE2EHTTP compares the HTTP layer: paths, methods and malformed
// XML-RPC requests get the same status codes and content types.
func TestE2EHTTP(t *testing.T) {
	needPeers(t)
	t.Parallel()
	sup, drv := startPair(t, config{}, config{})
	p := &pair{t: t, sup: sup, drv: drv}
	getState := `<?xml version="1.0"?><methodCall><methodName>supervisor.getState</methodName></methodCall>`
	for _, c := range []struct{ method, path, body string }{
		// Streams that answer 200 are compared through supervisorctl tail -f
		// (TestE2ESupervisorctlVerbs): supervisord does not send their
		// headers to Go's client. A POST with an empty body, or a POST to
		// / (its web UI), gets no answer at all from supervisord.
		{"GET", "/logtail/talker/bogus", ""},
		{"GET", "/logtail/g:*", ""},
		{"GET", "/logtail/nope", ""},
		{"GET", "/logtail/", ""},
		{"POST", "/logtail/talker", "x"},
		{"POST", "/mainlogtail", "x"},
		{"GET", "/", ""},
		{"GET", "/nonexistent", ""},
		{"HEAD", "/nonexistent", ""},
		{"PUT", "/nonexistent", "x"},
		{"POST", "/elsewhere", getState},
		{"GET", "/RPC2", ""},
		{"HEAD", "/RPC2", ""},
		{"DELETE", "/RPC2", ""},
		{"POST", "/RPC2", getState},
		{"POST", "/RPC2/anything", getState},
		{"POST", "/RPC2", "not xml"},
		{"POST", "/RPC2", `<?xml version="1.0"?><methodCall><params/></methodCall>`},
	} {
		name := c.method + " " + c.path
		if c.body != "" {
			name += " " + c.body
		}
		s, d := both(p, func(x *daemon) string { return x.httpAnswer(c.method, c.path, c.body) })
		p.compare(name, s, d)
	}
	t.Logf("%d requests answered the same", len(p.matched))
}
