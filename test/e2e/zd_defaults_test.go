//go:build e2e

package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/testenv"
)

// TestE2EPumaPresetDefaults: `server = puma` with only sockets= and no
// ready= must run and reload Debian's puma 5.6.5 (no sd_notify gem) under
// load with no failed request and no stall: the preset's default readiness
// has to be one that puma gives by itself (issue 15, "Honest defaults").
func TestE2EPumaPresetDefaults(t *testing.T) {
	bin := testenv.LookPath(t, "puma", "apt-get install puma")
	dir := t.TempDir()
	files := map[string]string{"config.ru": zdRackApp, "puma.rb": "queue_requests false\n"}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	port := freePort(t)
	// As a user writes it: no ready=, no reload=, no signals.
	section := fmt.Sprintf("\n[program:web]\nsockets = tcp://127.0.0.1:%d\nserver = puma\n"+
		"command = %s -C puma.rb --bind-to-activated-sockets only -t 8:8 config.ru\n"+
		"directory = %s\nredirect_stderr = true\n", port, bin, dir)
	d := startDaemon(t, "drover", config{Bare: true, Raw: section})
	d.waitLog(0, `success: web entered RUNNING state, its readiness probe \(http://\{probe\}/\) answered`)

	const reloads = 3
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	l := startLoad(t, base, zdTag, (reloads+2)*40*time.Second)
	tag, err := l.settle(10, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tags := []string{tag}
	var stalls []string
	for i := range reloads {
		// A steady window before each reload, for the stall bound.
		steadyFrom := time.Now()
		if _, err := l.waitFor(func(s string) bool { return s == tag }, l.count(tag)+60, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		opFrom := time.Now()
		r := d.droverCtl("reload", "web")
		opTo := time.Now()
		if r.Code != 0 || strings.TrimSpace(r.Stdout) != "web: reloaded" {
			t.Fatalf("reload %d: exit %d, %q %q", i+1, r.Code, r.Stdout, r.Stderr)
		}
		stalls = append(stalls, l.checkStall(t, fmt.Sprintf("reload %d", i+1), steadyFrom, opFrom, opTo))
		if tag, err = l.waitNewTag(tags, 5, 30*time.Second); err != nil {
			t.Fatalf("after reload %d: %v", i+1, err)
		}
		tags = append(tags, tag)
	}
	rep := l.report()
	zdReportf(t, "puma preset defaults (no ready=), %d reloads under load: %v; generations %v\n  %s",
		reloads, rep, tags, strings.Join(stalls, "\n  "))
	if rep.Failed != 0 || rep.Retried != 0 {
		t.Errorf("%d requests failed, %d re-sent: %v %v\ndrover's log:\n%s", rep.Failed, rep.Retried,
			rep.Examples, rep.Resent, strings.Join(zdEvents(d), "\n"))
	}
	for _, g := range tags {
		if rep.Seen[g] == 0 {
			t.Errorf("generation %s never answered the load: %v", g, rep.Seen)
		}
	}
}

// TestE2EStoppedSocketsRefuse, with the real binary and real sockets: a
// program that stays STOPPED has its held socket refuse new connections at
// once (ECONNREFUSED, not a hang in the accept queue); a connection made
// between a stop and the start that follows (supervisorctl restart is
// those two calls) waits in the queue and is answered by the new process.
func TestE2EStoppedSocketsRefuse(t *testing.T) {
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	section := fmt.Sprintf("\n[program:web]\ncommand = %s\nsockets = tcp://%s\nready = http://{probe}/\n",
		strings.TrimSuffix(childCmd("x"), " x")+" zd-serve", addr)
	d := startDaemon(t, "drover", config{Bare: true, Raw: section})
	d.waitLog(0, `success: web entered RUNNING`)
	if _, err := zdGet("http://" + addr); err != nil {
		t.Fatal(err)
	}

	// Stop, then a request before the start: queued, then served.
	if r := d.droverCtl("stop", "web"); r.Code != 0 {
		t.Fatalf("stop: %+v", r)
	}
	m := d.mark()
	queued := make(chan error, 1)
	conn, err := net.Dial("tcp", addr) // into the accept queue: nobody accepts now
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go func() {
		_ = conn.SetDeadline(time.Now().Add(requestTimeout))
		if _, err := fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", addr); err != nil {
			queued <- err
			return
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 200 {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		queued <- err
	}()
	if r := d.droverCtl("start", "web"); r.Code != 0 {
		t.Fatalf("start: %+v", r)
	}
	if err := <-queued; err != nil {
		t.Errorf("a request queued between stop and start: %v", err)
	}
	if d.logged(m, "refuse connections") {
		t.Errorf("sockets refused during a stop-then-start:\n%s", d.output())
	}

	// Stopped for good: refused at once once the grace is over.
	if r := d.droverCtl("stop", "web"); r.Code != 0 {
		t.Fatalf("stop: %+v", r)
	}
	d.waitLog(m, `'web' is not running: its sockets refuse connections`)
	t0 := time.Now()
	dl := net.Dialer{Timeout: requestTimeout}
	c, err := dl.Dial("tcp", addr)
	took := time.Since(t0)
	if c != nil {
		c.Close()
	}
	if !errors.Is(err, syscall.ECONNREFUSED) || took > time.Second {
		t.Fatalf("connect to a STOPPED program's socket: %v after %v, want ECONNREFUSED at once", err, took)
	}
	zdReportf(t, "STOPPED program's socket: connect refused in %v; a request queued between stop and start was served", took.Round(time.Microsecond))
	// Started again: it serves on the same socket.
	if r := d.droverCtl("start", "web"); r.Code != 0 {
		t.Fatalf("start: %+v", r)
	}
	if _, err := zdGet("http://" + addr); err != nil {
		t.Errorf("after the start: %v", err)
	}
}

// logged reports whether a line from index from on contains s.
func (d *daemon) logged(from int, s string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, l := range d.lines[min(from, len(d.lines)):] {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}
