//go:build e2e

package reload

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/testenv"
)

// The apps answer "gen=N" (N from DROVER_GENERATION) on every path, after
// 300 ms on /slow.
const (
	rackApp = `gen = ENV["DROVER_GENERATION"]
run lambda { |env|
  sleep 0.3 if env["PATH_INFO"] == "/slow"
  [200, {"content-type" => "text/plain"}, ["gen=#{gen}"]]
}
`
	wsgiApp = `import os, time
gen = os.environ.get("DROVER_GENERATION")
def app(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(0.3)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("gen=%s" % gen).encode()]
`
	psgiApp = `my $gen = $ENV{DROVER_GENERATION};
sub {
  my $env = shift;
  select(undef, undef, undef, 0.3) if $env->{PATH_INFO} eq "/slow";
  [200, ["Content-Type" => "text/plain"], ["gen=$gen"]];
};
`
)

// TestE2EHandoffServers runs the blue/green hand-off of this package with
// the real servers of the reference (Debian's unicorn, puma, gunicorn,
// starman), each started as its preset's Usage says, on drover-owned TCP
// and unix sockets plus each generation's private probe socket, under the
// same load as TestHandoffRealProcesses: no request may fail.
func TestE2EHandoffServers(t *testing.T) {
	for _, c := range []struct {
		name   string
		noUnix bool
		files  map[string]string
		argv   []string
		ready  string
	}{
		{"unicorn", false, map[string]string{"config.ru": rackApp, "unicorn.rb": "worker_processes 4\ntimeout 30\n"},
			[]string{"unicorn", "-c", "unicorn.rb", "config.ru"}, "http://{probe}/"},
		// puma 5 needs the sd_notify gem for ready = notify; Debian's has none.
		// queue_requests false as the Usage says: puma 5.6 closes its
		// keep-alive connections under their clients on TERM otherwise.
		{"puma", false, map[string]string{"config.ru": rackApp, "puma.rb": "queue_requests false\n"},
			[]string{"puma", "-C", "puma.rb", "--bind-to-activated-sockets", "only", "-t", "8:8", "config.ru"}, "http://{probe}/"},
		{"gunicorn", false, map[string]string{"app.py": wsgiApp},
			[]string{"gunicorn", "--workers", "4", "--graceful-timeout", "10", "app:app"}, "http://{probe}/"},
		// gunicorn's own READY=1 (sent by the arbiter before the workers
		// import the app): with drover-owned sockets an early READY=1 costs
		// latency, not requests, as the queue waits for the workers.
		{"gunicorn", false, map[string]string{"app.py": wsgiApp},
			[]string{"gunicorn", "--workers", "4", "--graceful-timeout", "10", "app:app"}, "notify"},
		// Net::Server::SS::PreFork wraps every SERVER_STARTER_PORT entry as
		// TCP: a connection on a unix socket is reset. --disable-keepalive
		// as docs/zero-downtime.md says: a starman worker keeps serving a
		// keep-alive client after QUIT, so the old generation only ended
		// when killed after graceful_timeout (30 s), cutting a request in
		// flight now and then (1 of ~120,000 requests, in 3 of ~22 runs).
		{"starman", true, map[string]string{"app.psgi": psgiApp},
			[]string{"starman", "--workers", "8", "--disable-keepalive", "app.psgi"}, "http://{probe}/"},
	} {
		t.Run(c.name+"/"+c.ready, func(t *testing.T) {
			bin := testenv.LookPath(t, c.argv[0], "apt-get install "+c.argv[0])
			dir := t.TempDir()
			for name, text := range c.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			preset, err := config.LookupPreset(c.name)
			if err != nil {
				t.Fatal(err)
			}
			argv := append([]string{bin}, c.argv[1:]...)
			total, failed, took := handoffScenario(t, server{argv: argv, dir: dir, preset: preset, ready: c.ready, noUnix: c.noUnix})
			t.Logf("%s: hand-off took %v; %d requests, %d failed", c.name, took.Round(time.Millisecond), total, failed)
			if failed != 0 {
				t.Errorf("%d requests failed", failed)
			}
		})
	}
}
