//go:build e2e

package daemon_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const gunicornBin = "/usr/bin/gunicorn"

// The real gunicorn 20 under the drover binary: sockets= (LISTEN_FDS),
// server = gunicorn, reload = bluegreen with its readiness on the private
// probe socket; drover.reloadProcess three times under load (fast and
// 300 ms requests, new connection per request and keep-alive): no request
// may fail and every generation answers.
func TestE2EGunicornBlueGreenUnderLoad(t *testing.T) {
	if _, err := os.Stat(gunicornBin); err != nil {
		t.Skip("gunicorn not installed (apt-get install gunicorn)")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "app.py"), []byte(`import os, time
gen = os.environ.get("DROVER_GENERATION")
def app(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(0.3)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("gen=%s\n" % gen).encode()]
`), 0o644)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	f := start(t, fmt.Sprintf("[program:web]\ncommand = %s --workers 4 --graceful-timeout 10 app:app\ndirectory = %s\n"+
		"redirect_stderr = true\nsockets = tcp://%s\nserver = gunicorn\nreload = bluegreen\nready = http://{probe}/\n"+
		"ready_timeout = 30\n", gunicornBin, dir, addr))
	f.waitLine(`success: web entered RUNNING state, its readiness probe`)
	loadAcrossReloads(t, f, []string{"http://" + addr + "/", "http://" + addr + "/slow"}, 3, func(body string) string {
		if g, ok := strings.CutPrefix(strings.TrimSpace(body), "gen="); ok {
			return g
		}
		return ""
	})
}
