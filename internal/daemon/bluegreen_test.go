package daemon_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// handoffLoad is what loadAcrossReloads measured.
type handoffLoad struct {
	requests int
	failures []string
	seen     map[string]int // answers per generation
	took     []time.Duration
}

// loadAcrossReloads runs clients per kind (a new connection per request,
// and keep-alive) against urls in turn (round robin per client) and calls
// drover.reloadProcess web `reloads` times, each once the serving
// generation answered 10 times; it stops once the last generation did.
// gen extracts the generation from a body ("" if none).
func loadAcrossReloads(t *testing.T, f *fixture, urls []string, reloads int, gen func(body string) string) handoffLoad {
	t.Helper()
	ctx, stop := context.WithTimeout(context.Background(), 120*time.Second)
	defer stop()
	var mu sync.Mutex
	res := handoffLoad{seen: map[string]int{}}
	reached := map[string]chan struct{}{}
	for g := 1; g <= reloads+1; g++ {
		reached[fmt.Sprint(g)] = make(chan struct{})
	}
	var wg sync.WaitGroup
	const clients = 4 // per kind, so requests are in flight at every moment
	for _, keepAlive := range []bool{false, true} {
		tr := &http.Transport{DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: clients}
		c := &http.Client{Transport: tr, Timeout: 15 * time.Second}
		for i := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer tr.CloseIdleConnections()
				for n := i; ctx.Err() == nil; n++ {
					body, err := httpGet(c, urls[n%len(urls)])
					mu.Lock()
					if ctx.Err() == nil {
						res.requests++
						if err != nil {
							res.failures = append(res.failures, err.Error())
						} else if g := gen(body); g != "" {
							if res.seen[g]++; res.seen[g] == 10 && reached[g] != nil {
								close(reached[g])
							}
						}
					}
					mu.Unlock()
				}
			}()
		}
	}
	for g := 1; g <= reloads+1; g++ {
		select {
		case <-reached[fmt.Sprint(g)]:
		case <-ctx.Done():
			stop()
			wg.Wait()
			t.Fatalf("generation %d did not answer 10 times; seen %v", g, res.seen)
		}
		if g == reloads+1 {
			break
		}
		t0 := time.Now()
		f.call("drover.reloadProcess", "web")
		res.took = append(res.took, time.Since(t0))
		in := f.info("web")
		if hp, ok := in["handoff_pid"]; in["statename"] != "RUNNING" || (ok && hp != 0) {
			t.Errorf("after reload %d: %v", g, in)
		}
	}
	stop()
	wg.Wait()
	for _, l := range strings.Split(f.log(), "\n") {
		if strings.Contains(l, "handing off") || strings.Contains(l, "handed off") {
			t.Log(l)
		}
	}
	t.Logf("%d requests, %d failed; answers per generation %v; reloads took %v", res.requests, len(res.failures), res.seen, res.took)
	if len(res.failures) > 0 {
		t.Errorf("%d failed requests during the hand-offs, e.g. %s", len(res.failures), res.failures[0])
	}
	if n := f.count(`entered RUNNING`); n != 1 {
		t.Errorf("%d RUNNING transitions: the state must stay RUNNING through hand-offs", n)
	}
	if n := f.count(`handed off 'web'`); n != reloads {
		t.Errorf("%d hand-offs logged, want %d", n, reloads)
	}
	return res
}

// reload = bluegreen under load: each reload starts a new generation of the
// demo app on drover's socket beside the serving one, waits for its
// "serving" line (ready = log:), then sends the old one TERM; the old one
// drains its in-flight 200 ms requests. Across three hand-offs no request
// fails, with a new connection per request and with keep-alive, and every
// generation answers.
func TestBlueGreenReloadUnderLoad(t *testing.T) {
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	f := start(t, fmt.Sprintf("[program:web]\ncommand = %s demo-app --listen 127.0.0.1:1 --delay 200ms\n"+
		"sockets = tcp://%s\nreload = bluegreen\nready = log:demo app: pid [0-9]+ serving\n"+
		"graceful_stop_signal = TERM\ngraceful_timeout = 10\nstartsecs = 0\n", droverBin, addr))
	f.waitLine(`success: web entered RUNNING state, its readiness probe`)
	loadAcrossReloads(t, f, []string{"http://" + addr + "/"}, 3, func(body string) string {
		if i := strings.Index(body, "generation "); i >= 0 {
			return strings.Fields(body[i:])[1]
		}
		return ""
	})
}

// A failed hand-off costs no service: a new generation that never gets
// ready (here: it never prints the ready line) is stopped after
// ready_timeout, and one that exits at once is noticed; the reload fails
// saying why and the old generation keeps serving, same pid, while
// requests go on.
func TestBlueGreenFailedReloadKeepsServing(t *testing.T) {
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	dir := t.TempDir()
	f := start(t, fmt.Sprintf("[program:web]\n"+
		"command = /bin/sh -c \"test -e %[1]s/hang && exec sleep 100; test -e %[1]s/crash && exit 3; exec %[2]s demo-app --listen 127.0.0.1:1\"\n"+
		"sockets = tcp://%[3]s\nreload = bluegreen\nready = log:demo app: pid [0-9]+ serving\nready_timeout = 1\n"+
		"graceful_timeout = 5\nstartsecs = 0\n", dir, droverBin, addr))
	f.waitLine(`success: web entered RUNNING state, its readiness probe`)
	pid := f.info("web")["pid"]
	// Without keep-alive, so a draining generation holds no idle connection.
	noKeepAlive := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	get := func() string {
		t.Helper()
		resp, err := noKeepAlive.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if body := get(); !strings.Contains(body, "generation 1") {
		t.Fatalf("answer %q", body)
	}
	for _, c := range []struct{ file, want string }{
		{"hang", "was not ready (not ready within 1s"},
		{"crash", "exited before it was ready (exit status 3)"},
	} {
		os.WriteFile(filepath.Join(dir, c.file), nil, 0o644)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_, err := f.client.Call(ctx, "drover.reloadProcess", "web")
		cancel()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%s: reload answered %v, want %q", c.file, err, c.want)
		}
		os.Remove(filepath.Join(dir, c.file))
		in := f.info("web")
		if in["pid"] != pid || in["statename"] != "RUNNING" {
			t.Fatalf("%s: after the failed reload %v", c.file, in)
		}
		if body := get(); !strings.Contains(body, "generation 1") {
			t.Fatalf("%s: answer %q", c.file, body)
		}
	}
	// And a good reload still works afterwards.
	f.call("drover.reloadProcess", "web")
	if body := get(); !strings.Contains(body, "generation 4") {
		t.Fatalf("answer after the good reload %q", body)
	}
}

// httpGet is the body of a GET of url through c; any status but 200 is an
// error.
func httpGet(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	return string(b), err
}
