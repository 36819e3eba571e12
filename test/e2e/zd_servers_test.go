//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drover-sh/drover/internal/testenv"
)

// The apps answer "gen=<tag>" on every path, after 300 ms on /slow. Under
// drover the tag is DROVER_GENERATION; under supervisord (which has no
// generations) it is the master's pid.
const (
	zdRackApp = `gen = ENV["DROVER_GENERATION"]
run lambda { |env|
  sleep 0.3 if env["PATH_INFO"] == "/slow"
  master = defined?(::Unicorn) ? Process.ppid : Process.pid # puma runs single mode
  [200, {"content-type" => "text/plain"}, ["gen=#{gen || "pid#{master}"}\n"]]
}
`
	zdWSGIApp = `import os, time
def app(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(0.3)
    start_response("200 OK", [("Content-Type", "text/plain")])
    gen = os.environ.get("DROVER_GENERATION") or "pid%d" % os.getppid()
    return [("gen=%s\n" % gen).encode()]
`
	zdPSGIApp = `my $gen = $ENV{DROVER_GENERATION};
sub {
  my $env = shift;
  select(undef, undef, undef, 0.3) if $env->{PATH_INFO} eq "/slow";
  [200, ["Content-Type" => "text/plain"], ["gen=" . ($gen || "pid" . getppid()) . "\n"]];
};
`
)

// zdServer is one server of the suite: how it runs under drover (on
// drover-owned sockets, reloaded blue/green) and under supervisord (bound
// by itself, restarted), each written as users write it, with the
// server's own graceful stop signal under supervisord too.
type zdServer struct {
	name  string
	bin   string // looked up in PATH; "" is this test binary
	files map[string]string
	// drover and supervisord are the [program:web] bodies; @BIN@, @DIR@,
	// @PORT@ and @SELF@ are replaced. drover's gets zdDroverLines too.
	drover, supervisord string
}

// zdDroverLines are what every server adds under drover: the socket drover
// owns, the blue/green reload and the readiness probe on the private socket.
const zdDroverLines = "sockets = tcp://127.0.0.1:@PORT@\nreload = bluegreen\nready = http://{probe}/\n"

var zdServers = []zdServer{
	{
		name: "unicorn", bin: "unicorn",
		files:       map[string]string{"config.ru": zdRackApp, "unicorn.rb": "worker_processes 4\ntimeout 30\n"},
		drover:      "command = @BIN@ -c unicorn.rb config.ru\nserver = unicorn\n",
		supervisord: "command = @BIN@ -l 127.0.0.1:@PORT@ -c unicorn.rb config.ru\nstopsignal = QUIT\nstopwaitsecs = 30\n",
	},
	{
		// Debian's puma 5 has no sd_notify gem: readiness by probe.
		name: "puma", bin: "puma",
		// puma 5.6 closes its keep-alive connections on TERM, racing with
		// a client sending its next request on one (a GET re-sent in 3 of 6
		// runs of 20 hand-offs); without request queueing every answer says
		// "Connection: close" instead: queue_requests false, for both.
		files:       map[string]string{"config.ru": zdRackApp, "puma.rb": "queue_requests false\n"},
		drover:      "command = @BIN@ -C puma.rb --bind-to-activated-sockets only -t 8:8 config.ru\nserver = puma\n",
		supervisord: "command = @BIN@ -C puma.rb -b tcp://127.0.0.1:@PORT@ -t 8:8 config.ru\nstopwaitsecs = 30\n",
	},
	{
		name: "gunicorn", bin: "gunicorn",
		files:       map[string]string{"app.py": zdWSGIApp},
		drover:      "command = @BIN@ --workers 4 --graceful-timeout 10 app:app\nserver = gunicorn\n",
		supervisord: "command = @BIN@ -b 127.0.0.1:@PORT@ --workers 4 --graceful-timeout 10 app:app\nstopwaitsecs = 30\n",
	},
	{
		// A starman worker serves a keep-alive connection for as long as
		// the client keeps sending, even after QUIT (its keep-alive loop
		// never looks at the graceful flag), so an old generation under
		// keep-alive load only ends when killed, cutting the requests in
		// flight: --disable-keepalive, as behind a proxy, for both.
		name: "starman", bin: "starman",
		files:  map[string]string{"app.psgi": zdPSGIApp},
		drover: "command = @BIN@ --workers 8 --disable-keepalive app.psgi\nserver = starman\n",
		supervisord: "command = @BIN@ --listen 127.0.0.1:@PORT@ --workers 8 --disable-keepalive app.psgi\n" +
			"stopsignal = QUIT\nstopwaitsecs = 30\n",
	},
	{
		name:        "plain-go",
		drover:      "command = @SELF@ zd-serve\nenvironment = ZD_FAULT=\"@DIR@/fault\"\n",
		supervisord: "command = @SELF@ zd-serve 127.0.0.1:@PORT@\nenvironment = ZD_FAULT=\"@DIR@/fault\"\n",
	},
}

// zdSetup finds the server's binary (testenv.LookPath: a failure under CI,
// a skip otherwise), writes its files into a fresh directory and returns the
// [program:web] section for kind on port.
func (s zdServer) setup(t *testing.T, kind string, port int) (dir, section string) {
	t.Helper()
	bin := ""
	if s.bin != "" {
		bin = testenv.LookPath(t, s.bin, "apt-get install "+s.bin)
	}
	dir = t.TempDir()
	for name, text := range s.files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	body := s.drover + zdDroverLines
	if kind == "supervisord" {
		body = s.supervisord
	}
	r := strings.NewReplacer("@BIN@", bin, "@DIR@", dir, "@PORT@", fmt.Sprint(port),
		"@SELF@", strings.TrimSuffix(childCmd("x"), " x"))
	return dir, fmt.Sprintf("\n[program:web]\n%sdirectory = %s\nstartsecs = 1\nredirect_stderr = true\n", r.Replace(body), dir)
}

// zdTag reads an answer's generation tag.
func zdTag(body string) string {
	g, _ := strings.CutPrefix(strings.TrimSpace(body), "gen=")
	return g
}
