package daemon_test

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// The backoff policy with a real process that always fails to start:
// retries 200 ms apart (backoff_max), FATAL after startretries, retried
// 500 ms later (fatal_retry) with a fresh count, and a stop cancels the
// pending retry. The exact sequence is TestBackoff* under synctest.
func TestBackoffPolicyRealProcess(t *testing.T) {
	f := start(t, program("bad", "exit:1", "startretries = 1", "backoff_max = 200ms", "fatal_retry = 500ms"))
	first := f.waitLine(`gave up: bad entered FATAL state`)
	f.waitLine(`retrying bad in 500ms \(fatal_retry\)`)
	second := f.waitLineAfter(f.mark(), `gave up: bad entered FATAL state`)
	if gap := stamp(t, second).Sub(stamp(t, first)); gap < 700*time.Millisecond {
		t.Errorf("second FATAL %v after the first: want ≥ 500 ms retry + 200 ms backoff", gap)
	}
	spawns := f.lines2(`spawned: 'bad' with pid`)
	if len(spawns) < 4 {
		t.Fatalf("%d spawns: %q", len(spawns), spawns)
	}
	if gap := stamp(t, spawns[1]).Sub(stamp(t, spawns[0])); gap < 200*time.Millisecond || gap > 2*time.Second {
		t.Errorf("first retry %v after the first spawn: want 200 ms (backoff_max), not supervisord's 1 s", gap)
	}
	// A stop while the retry is pending (or, on a slow machine, already
	// under way) leaves it STOPPED; that nothing spawns later is
	// TestBackoffFatalRetry's (synctest) part.
	f.call("supervisor.stopProcess", "bad", true)
	if st := f.info("bad")["statename"]; st != "STOPPED" {
		t.Fatalf("after stop: %v", st)
	}
}

func (f *fixture) lines2(re string) []string {
	rx := regexp.MustCompile(re)
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, l := range f.lines {
		if rx.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

// stamp is a main-log line's time.
func stamp(t *testing.T, line string) time.Time {
	t.Helper()
	i := strings.Index(line, "20")
	if i < 0 || len(line) < i+23 {
		t.Fatalf("%q has no timestamp", line)
	}
	at, err := time.ParseInLocation("2006-01-02 15:04:05,000", line[i:i+23], time.Local)
	if err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	return at
}
