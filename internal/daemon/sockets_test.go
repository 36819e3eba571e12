package daemon_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// A program with sockets= gets drover's listening socket at every spawn
// (LISTEN_FDS at fd 3), so connections made while it restarts wait in the
// socket's backlog instead of being refused: a plain restart of a server
// that drains on TERM fails no request.
func TestOwnedSocketKeepsServingAcrossRestart(t *testing.T) {
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	f := start(t, fmt.Sprintf("[program:web]\ncommand = %s demo-app --listen 127.0.0.1:1 --delay 50ms\n"+
		"sockets = tcp://%s\nreload = restart\nstartsecs = 0\nstopsignal = TERM\n", droverBin, addr))
	f.waitLine(`success: web entered RUNNING`)

	get := func(c *http.Client) (string, error) { return httpGet(c, "http://"+addr+"/") }
	first, err := get(http.DefaultClient)
	if err != nil || !strings.Contains(first, "generation 1") {
		t.Fatalf("first answer %q %v (the app must have inherited the socket: --listen 127.0.0.1:1 is unusable)", first, err)
	}

	// Two bounded client loops: new connection per request, and keep-alive.
	ctx, stop := context.WithTimeout(context.Background(), 20*time.Second)
	defer stop()
	var mu sync.Mutex
	var failures []string
	seen := map[string]int{}
	warm := make(chan struct{})   // closed when generation 1 answered 20 times
	enough := make(chan struct{}) // closed when generation 2 answered 20 times
	var warmOnce, once sync.Once
	var wg sync.WaitGroup
	for _, keepAlive := range []bool{false, true} {
		tr := &http.Transport{DisableKeepAlives: !keepAlive}
		c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer tr.CloseIdleConnections()
			for ctx.Err() == nil {
				body, err := get(c)
				mu.Lock()
				if err != nil && ctx.Err() == nil {
					failures = append(failures, err.Error())
				} else if i := strings.Index(body, "generation "); i >= 0 {
					g := strings.Fields(body[i:])[1]
					if seen[g]++; g == "2" && seen[g] == 20 {
						once.Do(func() { close(enough) })
					} else if g == "1" && seen[g] == 20 {
						warmOnce.Do(func() { close(warm) })
					}
				}
				mu.Unlock()
			}
		}()
	}
	select { // the load runs against generation 1 before the restart
	case <-warm:
	case <-ctx.Done():
		t.Fatal("generation 1 did not answer 20 times")
	}
	f.call("drover.reloadProcess", "web")
	f.waitLine(`success: web entered RUNNING`)
	select { // run until generation 2 has answered 20 times
	case <-enough:
	case <-ctx.Done():
	}
	stop()
	wg.Wait()
	if len(failures) > 0 {
		t.Errorf("%d failed requests during the restart, e.g. %s", len(failures), failures[0])
	}
	if seen["1"] == 0 || seen["2"] == 0 {
		t.Errorf("answers per generation %v: both generations must have served", seen)
	}
}
