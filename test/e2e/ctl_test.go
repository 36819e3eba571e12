//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// result is what one supervisorctl run printed and its exit code.
type result struct {
	Stdout, Stderr string
	Code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.Code, r.Stdout, r.Stderr)
}

// ctl runs the real supervisorctl with args (and no terminal) against d.
func (d *daemon) ctl(args ...string) result {
	d.t.Helper()
	return d.normalise(d.run(supervisorctlPath, append([]string{"-c", d.conf}, d.expand(args)...)))
}

// run runs a client command (bounded at two minutes) and returns what it
// printed and its exit code.
func (d *daemon) run(bin string, args []string) result {
	d.t.Helper()
	return d.runEnv(nil, bin, args)
}

// runEnv is run with env added to the test's environment.
func (d *daemon) runEnv(env []string, bin string, args []string) result {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		d.t.Fatalf("%s %v against %s: %v", bin, args, d.kind, err)
	}
	return result{out.String(), errb.String(), code}
}

// expand replaces "{inet}" in args with the URL of d's inet server.
func (d *daemon) expand(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, "{inet}", fmt.Sprintf("http://127.0.0.1:%d", d.port))
	}
	return out
}

var normalisers = []struct {
	re   *regexp.Regexp
	with string
}{
	// AUTO child log names end in a random suffix.
	{regexp.MustCompile(`([A-Za-z0-9_]+-(?:stdout|stderr)---e2e)-[A-Za-z0-9_]+\.log`), "$1-AUTO.log"},
	{regexp.MustCompile(`\bpid \d+`), "pid PID"},
	{regexp.MustCompile(`with pid \d+`), "with pid PID"},
	{regexp.MustCompile(`uptime (?:\d+ days?, )?\d+:\d\d:\d\d`), "uptime UPTIME"},
	// The stop time in a STOPPED/EXITED description: %b %d %I:%M %p.
	{regexp.MustCompile(`\b[A-Z][a-z]{2} \d\d \d\d:\d\d [AP]M\b`), "STOPTIME"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}`), "TIMESTAMP"},
	// `pid` and `pid all` print bare pids; 0 (not running) stays.
	{regexp.MustCompile(`(?m)^[1-9]\d*$`), "PID"},
}

// normalise rewrites what differs between any two runs: the daemon's
// directory, pids, uptimes, dates and AUTO log names.
func (d *daemon) normalise(r result) result {
	f := func(s string) string {
		s = strings.ReplaceAll(s, d.dir, "$DIR")
		if d.port != 0 {
			s = strings.ReplaceAll(s, fmt.Sprintf("127.0.0.1:%d", d.port), "127.0.0.1:PORT")
		}
		for _, n := range normalisers {
			s = n.re.ReplaceAllString(s, n.with)
		}
		return s
	}
	return result{f(r.Stdout), f(r.Stderr), r.Code}
}

// pair runs the same steps against supervisord and drover and compares.
type pair struct {
	t        *testing.T
	sup, drv *daemon
	matched  []string // step names whose answers were equal
	// typeDiffs counts wrong-type XML-RPC calls answered as documented.
	typeDiffs int
}

// both runs fn against both daemons at the same time.
func both[T any](p *pair, fn func(d *daemon) T) (s, d T) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s = fn(p.sup) }()
	d = fn(p.drv)
	wg.Wait()
	return s, d
}

// check runs supervisorctl args against both and compares the normalised
// answers; a difference must be listed in knownDiffs (see README.md).
func (p *pair) check(args ...string) (s, d result) {
	p.t.Helper()
	return p.checkAs(strings.Join(args, " "), args...)
}

// checkAs is check with a step name of its own (for knownDiffs).
func (p *pair) checkAs(name string, args ...string) (s, d result) {
	p.t.Helper()
	start := time.Now()
	s, d = both(p, func(x *daemon) result { return x.ctl(args...) })
	if el := time.Since(start); el > 2*time.Second {
		p.t.Logf("step %q took %v", name, el.Round(time.Millisecond))
	}
	if unordered(args) {
		// supervisord lists group results as the calls complete (its
		// make_allfunc polls the deferred calls round-robin), so their
		// order depends on timing; drover lists them by name.
		if s.Stdout != d.Stdout {
			p.t.Logf("step %q: same results in another order (supervisord: completion order)", name)
		}
		p.compare(name, sortLines(s), sortLines(d))
		return s, d
	}
	p.compare(name, s, d)
	return s, d
}

// unordered tells whether supervisorctl args act on a group or all and
// print one line per process result.
func unordered(args []string) bool {
	if len(args) < 2 {
		return false
	}
	switch args[0] {
	case "start", "stop", "restart", "signal", "clear":
	default:
		return false
	}
	for _, a := range args[1:] {
		if a == "all" || strings.HasSuffix(a, ":*") {
			return true
		}
	}
	return false
}

// sortLines sorts stdout's lines.
func sortLines(r result) result {
	l := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
	sort.Strings(l)
	r.Stdout = strings.Join(l, "\n") + "\n"
	return r
}

// compare reports a difference between s and d for the step name unless
// knownDiffs explains it; a known difference that no longer shows fails
// too, so the README table stays true.
func (p *pair) compare(name string, s, d any) {
	p.t.Helper()
	same := fmt.Sprint(s) == fmt.Sprint(d)
	why, known := knownDiffs[name]
	switch {
	case same && known:
		p.t.Errorf("step %q: listed as a known difference (%s) but both now answer:\n%v", name, why, s)
	case same:
		p.matched = append(p.matched, name)
	case known:
		p.t.Logf("step %q: known difference (%s)\nsupervisord: %v\ndrover: %v", name, why, s, d)
	default:
		p.t.Errorf("step %q differs\nsupervisord: %v\ndrover: %v", name, s, d)
	}
}

// follow runs `supervisorctl args` (a tail -f), reads n lines of its
// stdout, then kills it.
func (d *daemon) follow(n int, args ...string) string {
	d.t.Helper()
	cmd := exec.Command(supervisorctlPath, append([]string{"-c", d.conf}, d.expand(args)...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		d.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		br := bufio.NewReader(out)
		for {
			l, err := br.ReadString('\n')
			if l != "" {
				lines <- l
			}
			if err != nil {
				return
			}
		}
	}()
	var got strings.Builder
	deadline := time.After(waitTimeout)
	for i := 0; i < n; i++ {
		select {
		case l, ok := <-lines:
			if !ok {
				i = n
				break
			}
			got.WriteString(l)
		case <-deadline:
			i = n
			got.WriteString("<timeout>\n")
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	for range lines {
	}
	cmd.Wait()
	return d.normalise(result{Stdout: got.String()}).Stdout
}

// checkFollow compares the first n lines of a tail -f against both.
func (p *pair) checkFollow(n int, args ...string) {
	p.t.Helper()
	s, d := both(p, func(x *daemon) string { return x.follow(n, args...) })
	p.compare(strings.Join(args, " "), s, d)
}
