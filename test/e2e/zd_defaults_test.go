//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// count is how many answers tag has had so far.
func (l *load) count(tag string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seen[tag]
}
