//go:build e2e

package daemon

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/supervisor"
)

const unicornBin = "/usr/bin/unicorn"

// The real unicorn 6 under drover with reload = reexec: drover reload web
// sends USR2, unicorn's new master boots its workers (its last worker, once
// ready, QUITs the old master, as the usual unicorn.rb does) and drover
// adopts the new master as the same process. Loopback clients (a new
// connection per request, and keep-alive) run throughout; no request may
// fail.
func TestE2EUnicornReexecUnderLoad(t *testing.T) {
	if _, err := os.Stat(unicornBin); err != nil {
		t.Skip("unicorn not installed (apt-get install unicorn)")
	}
	if !asSubreaper(t) {
		return
	}
	dir := t.TempDir()
	port := freePort(t)
	pidfile := filepath.Join(dir, "unicorn.pid")
	os.WriteFile(filepath.Join(dir, "config.ru"), []byte(
		"run lambda { |env| [200, {'content-type' => 'text/plain'}, [\"master #{Process.ppid}\\n\"]] }\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "unicorn.rb"), []byte(fmt.Sprintf(`
listen "127.0.0.1:%d", backlog: 1024
worker_processes 2
pid %q
timeout 30
preload_app false
after_worker_ready do |server, worker|
  File.write("%s/ready.#{Process.ppid}.#{worker.nr}", "")
  old = %q
  if worker.nr == server.worker_processes - 1 && File.exist?(old)
    begin
      Process.kill(:QUIT, File.read(old).to_i)
    rescue Errno::ENOENT, Errno::ESRCH
    end
  end
end
`, port, pidfile, dir, pidfile+".oldbin")), 0o644)
	sup, rec := runInProcess(t, fmt.Sprintf("[program:web]\ncommand = %s -c %s/unicorn.rb %s/config.ru\ndirectory = %s\n"+
		"startsecs = 1\nstopsignal = QUIT\nstdout_logfile = %s/web.log\nredirect_stderr = true\n",
		unicornBin, dir, dir, dir, dir),
		func(pc *config.Process) {
			pc.Drover.Reload = supervisor.ReloadReexec // until the config parses reload=
			pc.Drover.Pidfile = pidfile
		})
	ctx := context.Background()
	at := 0
	rec.wait(t, &at, `^success: web entered RUNNING`)
	in, _ := sup.ProcessInfo(ctx, "web")
	first := in.Pid
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	waitFile(t, filepath.Join(dir, fmt.Sprintf("ready.%d.1", first)))
	serves(t, url, first)

	// Bounded load: 2 clients per kind until stop, at most 30 s.
	var (
		mu       sync.Mutex
		ok, bad  int
		failures []string
		masters  = map[string]int{}
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := func(keepAlive bool) {
		defer wg.Done()
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: !keepAlive}}
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-stop:
				return
			default:
			}
			body, err := get(c, url)
			mu.Lock()
			if err != nil {
				bad++
				failures = append(failures, err.Error())
			} else {
				ok++
				masters[strings.TrimSpace(body)]++
			}
			mu.Unlock()
		}
	}
	for _, ka := range []bool{false, false, true, true} {
		wg.Add(1)
		go client(ka)
	}

	t0 := time.Now()
	if err := sup.ReloadProcess(ctx, "web"); err != nil {
		close(stop)
		wg.Wait()
		t.Fatalf("reload: %v\nlog: %v", err, rec.lines)
	}
	took := time.Since(t0)
	m := rec.wait(t, &at, `^following re-exec of 'web': pid (\d+) → (\d+)$`)
	second, _ := strconv.Atoi(m[2])
	lookup := rec.wait(t, &at, `^successor lookup for 'web' took (.+)$`)[1]
	serves(t, url, second) // the old master left after the new workers were ready
	// A second re-exec through signalProcess (supervisorctl signal USR2 web).
	if err := sup.SignalProcess(ctx, "web", syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	m = rec.wait(t, &at, `^following re-exec of 'web': pid (\d+) → (\d+)$`)
	third, _ := strconv.Atoi(m[2])
	serves(t, url, third)
	close(stop)
	wg.Wait()

	in, _ = sup.ProcessInfo(ctx, "web")
	if in.Pid != third || in.State != supervisor.Running || in.Reexecs != 2 {
		t.Fatalf("after two re-execs: %+v", in)
	}
	rec.mu.Lock()
	spawns := strings.Count(strings.Join(rec.lines, "\n"), "spawned: 'web'")
	rec.mu.Unlock()
	if spawns != 1 {
		t.Fatalf("%d spawns, want 1", spawns)
	}
	t.Logf("masters %d → %d → %d; reload (USR2 → adopted) %v; lookup %s; requests ok %d failed %d by master %v",
		first, second, third, took, lookup, ok, bad, masters)
	if bad > 0 {
		t.Fatalf("%d failed requests: %v", bad, failures[:min(len(failures), 10)])
	}
	if ok < 100 {
		t.Fatalf("only %d requests: the load did not run", ok)
	}
}

func get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	return string(b), nil
}

// serves checks that a request is answered by a worker of master.
func serves(t *testing.T, url string, master int) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	body, err := get(c, url)
	if want := fmt.Sprintf("master %d", master); err != nil || strings.TrimSpace(body) != want {
		t.Fatalf("got %q %v, want %q", body, err, want)
	}
}

// waitFile waits until path exists, woken by a watch on its directory
// (bounded at 30 s).
func waitFile(t *testing.T, path string) {
	t.Helper()
	w, err := newDirWatch(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if !w.wait(time.Until(deadline)) {
			t.Fatalf("%s does not exist after 30s", path)
		}
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
