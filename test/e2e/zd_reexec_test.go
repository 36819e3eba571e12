//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/testenv"
)

// The re-exec path: users who keep their server's own USR2 hot restart
// (unicorn, gunicorn binding their own socket, a config hook that retires
// the old master once the new one's workers are up). drover follows the new
// master as its subreaper (reload = reexec): `drover reload web` and
// `drover signal USR2 web` alternate, under load. The same recipe under
// supervisord (`supervisorctl signal USR2 web`, autorestart=true) runs in
// the same test; its failures and final state are printed, not asserted.

// Answers carry the master's pid (the workers' parent): a re-exec keeps
// the environment, so DROVER_GENERATION would not change.
const (
	reexecRackApp = `run lambda { |env|
  sleep 0.3 if env["PATH_INFO"] == "/slow"
  [200, {"content-type" => "text/plain"}, ["gen=pid#{Process.ppid}\n"]]
}
`
	reexecWSGIApp = `import os, time
def app(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(0.3)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("gen=pid%d\n" % os.getppid()).encode()]
`
)

type reexecServer struct {
	name, bin string
	// files are written with @DIR@ and @PORT@ replaced; command is the
	// program's command= (with @BIN@).
	files   map[string]string
	command string
	// drover is what drover's [program:web] adds.
	drover string
}

var reexecServers = []reexecServer{
	{
		name: "unicorn", bin: "unicorn",
		files: map[string]string{"config.ru": reexecRackApp, "unicorn.rb": `
listen "127.0.0.1:@PORT@", backlog: 1024
worker_processes 2
pid "@DIR@/unicorn.pid"
timeout 30
after_worker_ready do |server, worker|
  old = "@DIR@/unicorn.pid.oldbin"
  if worker.nr == server.worker_processes - 1 && File.exist?(old)
    begin
      Process.kill(:QUIT, File.read(old).to_i)
    rescue Errno::ENOENT, Errno::ESRCH
    end
  end
end
`},
		command: "@BIN@ -c unicorn.rb config.ru",
		drover:  "server = unicorn\nreload = reexec\npidfile = @DIR@/unicorn.pid\n",
	},
	{
		// gunicorn 20.1's USR2 works with sockets it bound itself (not with
		// inherited LISTEN_FDS). The new master's environment names the
		// old one in GUNICORN_PID; its last booted worker retires it.
		name: "gunicorn", bin: "gunicorn",
		files: map[string]string{"app.py": reexecWSGIApp, "gunicorn.conf.py": `
import os, signal
bind = "127.0.0.1:@PORT@"
workers = 2
graceful_timeout = 10

def post_worker_init(worker):
    old = os.environ.get("GUNICORN_PID")
    if old and worker.age == worker.cfg.workers:
        os.kill(int(old), signal.SIGTERM)
`},
		command: "@BIN@ -c gunicorn.conf.py app:app",
		drover:  "reload = reexec\nreload_signal = USR2\n",
	},
}

func TestE2EZeroDowntimeReexec(t *testing.T) {
	reloads := min(zdReloads(t), 10)
	for _, s := range reexecServers {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			zdParallel <- struct{}{}
			defer func() { <-zdParallel }()
			drv := reexecRun(t, s, "drover", reloads)
			sup := zdResult{skipped: "supervisor not installed"}
			if testenv.WantFile(t, supervisordPath, "apt-get install supervisor") {
				sup = reexecRun(t, s, "supervisord", min(reloads, 3))
			}
			var notes []string
			for _, e := range append(sup.errs, sup.load.Examples...) {
				notes = append(notes, "\n    "+e)
			}
			zdReportf(t, "%s USR2 re-exec under load:\n  drover:      %v\n  supervisord: %v (supervisorctl signal USR2)%s",
				s.name, drv, sup, strings.Join(notes, ""))
			if drv.load.Failed != 0 || drv.load.Retried != 0 {
				t.Errorf("drover: %v: %v; re-sent: %v", drv.load, drv.load.Examples, drv.load.Resent)
			}
			if len(drv.errs) != 0 {
				t.Errorf("drover: %v", drv.errs)
			}
			if n := len(drv.tags); n != reloads+1 {
				t.Errorf("drover: %d masters served, want %d: %v", n, reloads+1, drv.tags)
			}
		})
	}
}

// reexecRun runs s under kind and re-execs it n times with USR2 (drover:
// alternately `drover reload` and `drover signal USR2`).
func reexecRun(t *testing.T, s reexecServer, kind string, n int) zdResult {
	t.Helper()
	bin := testenv.LookPath(t, s.bin, "apt-get install "+s.bin)
	port, dir := freePort(t), t.TempDir()
	r := strings.NewReplacer("@BIN@", bin, "@DIR@", dir, "@PORT@", fmt.Sprint(port))
	for name, text := range s.files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(r.Replace(text)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	section := fmt.Sprintf("\n[program:web]\ncommand = %s\ndirectory = %s\nstartsecs = 1\nautorestart = true\nredirect_stderr = true\n",
		r.Replace(s.command), dir)
	if kind == "drover" {
		section += r.Replace(s.drover)
	}
	d := startDaemon(t, kind, config{Bare: true, Raw: section})
	d.waitLog(0, `success: web entered RUNNING`)
	// supervisord leaves the re-exec'd master behind: kill the program's
	// whole process group (masters and workers share it) at the end.
	first := strings.TrimSpace(d.droverCtl("pid", "web").Stdout)
	t.Cleanup(func() {
		var pgid int
		if _, err := fmt.Sscan(first, &pgid); err == nil && pgid > 1 {
			syscall.Kill(-pgid, syscall.SIGKILL)
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	l, res := zdStartLoad(t, kind, base, n)
	if l == nil {
		return res
	}
	follow := regexp.MustCompile(`following re-exec of 'web': pid \d+ → (\d+)`)
	for i := range n {
		t0 := time.Now()
		mark := d.mark()
		var out result
		switch {
		case kind == "supervisord":
			out = d.ctl("signal", "USR2", "web")
		case i%2 == 0:
			out = d.droverCtl("reload", "web")
		default:
			out = d.droverCtl("signal", "USR2", "web")
			if out.Code == 0 {
				d.waitLog(mark, follow.String())
			}
		}
		if out.Code != 0 {
			res.errs = append(res.errs, fmt.Sprintf("re-exec %d: %s", i+1, strings.TrimSpace(out.Stdout+out.Stderr)))
			continue
		}
		next, err := l.waitNewTag(res.tags, 5, 30*time.Second)
		res.took = append(res.took, time.Since(t0))
		if err != nil {
			res.errs = append(res.errs, fmt.Sprintf("re-exec %d: %v", i+1, err))
			break
		}
		res.tags = append(res.tags, next)
		// The daemon must know the serving master (its pid is the tag):
		// asserted for drover; for supervisord it is the orphan question.
		if pid := strings.TrimSpace(d.droverCtl("pid", "web").Stdout); "pid"+pid != next {
			res.errs = append(res.errs, fmt.Sprintf("re-exec %d: the daemon says pid %s, the serving master is %s", i+1, pid, next))
		}
	}
	res.load = l.report()
	st := d.ctl("status", "web")
	if !strings.Contains(st.Stdout, "RUNNING") || kind == "supervisord" {
		res.errs = append(res.errs, "final status: "+strings.TrimSpace(st.Stdout))
	}
	return res
}
