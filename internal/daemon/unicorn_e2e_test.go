//go:build e2e

package daemon_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const unicornBin = "/usr/bin/unicorn"

// The real unicorn 6 under the drover binary with server = unicorn and
// reload = reexec: drover.reloadProcess sends USR2, unicorn's new master
// boots its workers (its last worker, once ready, QUITs the old master, as
// the usual unicorn.rb does) and drover adopts the new master as the same
// process; then supervisorctl signal USR2 web is followed too. Loopback
// clients (a new connection per request, and keep-alive) run throughout; no
// request may fail.
func TestE2EUnicornReexecUnderLoad(t *testing.T) {
	if _, err := os.Stat(unicornBin); err != nil {
		t.Skip("unicorn not installed (apt-get install unicorn)")
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
	f := start(t, fmt.Sprintf("[program:web]\ncommand = %s -c %s/unicorn.rb %s/config.ru\ndirectory = %s\n"+
		"startsecs = 1\nstopsignal = QUIT\nredirect_stderr = true\n"+
		"server = unicorn\nreload = reexec\npidfile = %s\n\n", unicornBin, dir, dir, dir, pidfile))
	f.waitLine(`success: web entered RUNNING`)
	first := f.info("web")["pid"].(int)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	waitFile(t, filepath.Join(dir, fmt.Sprintf("ready.%d.1", first)), "")
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

	mark := f.mark()
	t0 := time.Now()
	f.call("drover.reloadProcess", "web") // USR2; the reply once the new master is adopted
	took := time.Since(t0)
	m := regexp.MustCompile(`pid (\d+) → (\d+)`).FindStringSubmatch(
		f.waitLineAfter(mark, `following re-exec of 'web': pid `+strconv.Itoa(first)+` → \d+`))
	second, _ := strconv.Atoi(m[2])
	lookup := regexp.MustCompile(`took (.+)$`).FindStringSubmatch(f.waitLineAfter(mark, `successor lookup for 'web' took`))[1]
	serves(t, url, second) // the old master left after the new workers were ready
	// A second re-exec through supervisorctl signal USR2 web.
	mark = f.mark()
	f.call("supervisor.signalProcess", "web", "USR2")
	m = regexp.MustCompile(`pid (\d+) → (\d+)`).FindStringSubmatch(
		f.waitLineAfter(mark, `following re-exec of 'web': pid `+strconv.Itoa(second)+` → \d+`))
	third, _ := strconv.Atoi(m[2])
	serves(t, url, third)
	close(stop)
	wg.Wait()

	in := f.call("drover.getProcessInfo", "web").(map[string]any)
	if in["pid"] != third || in["statename"] != "RUNNING" || in["reexecs"] != 2 {
		t.Fatalf("after two re-execs: %v", in)
	}
	if n := f.count(`spawned: 'web'`); n != 1 {
		t.Fatalf("%d spawns, want 1", n)
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
