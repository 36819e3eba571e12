//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// The injected faults of zero-downtime.md, under the same load, with the
// plain Go app under drover (blue/green): a new generation that never gets
// ready, one that crashes right after it said ready, and two reloads asked
// at once. No request may fail in any of them.
func TestE2EZeroDowntimeFaults(t *testing.T) {
	zdParallel <- struct{}{}
	defer func() { <-zdParallel }()
	var plain zdServer
	for _, s := range zdServers {
		if s.name == "plain-go" {
			plain = s
		}
	}
	port := freePort(t)
	dir, section := plain.setup(t, "drover", port)
	d := startDaemon(t, "drover", config{Bare: true, Raw: section + "ready_timeout = 5\n"})
	d.waitLog(0, `success: web entered RUNNING`)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	l := startLoad(t, base, zdTag, 5*time.Minute)
	tag, err := l.settle(10, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tags := []string{tag}
	serving := func(step string) string {
		t.Helper()
		got, err := zdGet(base)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		return got
	}
	arm := func(fault string) {
		t.Helper()
		if err := writeFault(dir, fault); err != nil {
			t.Fatal(err)
		}
	}
	newGeneration := func(step string) {
		t.Helper()
		next, err := l.waitNewTag(tags, 5, 30*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		tags = append(tags, next)
	}

	// Never ready: the reload fails saying why; the old generation serves.
	arm("never-ready")
	r := d.droverCtl("reload", "web")
	t.Logf("never ready: exit %d: %s", r.Code, strings.TrimSpace(r.Stdout+r.Stderr))
	if r.Code == 0 || !strings.Contains(r.Stdout+r.Stderr, "not ready") {
		t.Errorf("a reload whose new generation never got ready: exit %d, %q; want a failure saying it was not ready", r.Code, r.Stdout+r.Stderr)
	}
	if got := serving("after the failed reload"); got != tags[len(tags)-1] {
		t.Errorf("after a failed reload generation %s answers, want the old one (%s)", got, tags[len(tags)-1])
	}
	if r := d.droverCtl("reload", "web"); r.Code != 0 {
		t.Fatalf("the reload after the failed one: %v", r)
	}
	newGeneration("the reload after the failed one")

	// Crash after ready: the new generation said ready, was promoted, then
	// died before serving; drover restarts it while the owned socket
	// queues the connections, and the old one drains what it had.
	arm("crash-after-ready")
	mark := d.mark()
	r = d.droverCtl("reload", "web")
	t.Logf("crash after ready: exit %d: %s", r.Code, strings.TrimSpace(r.Stdout+r.Stderr))
	d.waitLog(mark, `exited: web \(exit status 3; not expected\)`, `success: web entered RUNNING`)
	newGeneration("after the crash")
	if st := d.droverCtl("status", "web"); !strings.Contains(st.Stdout, "RUNNING") {
		t.Errorf("after the crash: %v", st)
	}

	// Two reloads at once: one hands off, the other is refused clearly
	// (or both succeed one after the other).
	var wg sync.WaitGroup
	res := make([]result, 2)
	for i := range res {
		wg.Add(1)
		go func() { defer wg.Done(); res[i] = d.droverCtl("reload", "web") }()
	}
	wg.Wait()
	ok := 0
	for _, r := range res {
		t.Logf("double reload: exit %d: %s", r.Code, strings.TrimSpace(r.Stdout+r.Stderr))
		switch {
		case r.Code == 0:
			ok++
		case !strings.Contains(r.Stdout, "in progress"):
			t.Errorf("the refused reload must say another is in progress: %v", r)
		}
	}
	if ok == 0 {
		t.Errorf("neither of two simultaneous reloads succeeded")
	}
	newGeneration("after the double reload")

	rep := l.report()
	zdReportf(t, "faults under load (never ready, crash after ready, double reload): drover %v; generations %v", rep, tags)
	if rep.Failed != 0 || rep.Retried != 0 {
		t.Errorf("requests failed during the faults: %v %v; re-sent: %v", rep, rep.Examples, rep.Resent)
	}
}
