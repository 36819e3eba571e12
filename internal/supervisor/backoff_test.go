package supervisor

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

func backoff(b config.Backoff) func(*config.Process) {
	return func(p *config.Process) { p.Drover.Backoff = b }
}

// failStarts makes every start of name exit before startsecs, until the
// fake clock reaches until; it reports the spawn times.
func failStarts(hs *harness, name string, until time.Duration) []time.Duration {
	seen := 0
	for {
		ts := hs.spawnTimes(name)
		for ; seen < len(ts); seen++ {
			hs.exit(hs.lastPid(name), 1)
		}
		if hs.since(time.Now()) >= until {
			return hs.spawnTimes(name)
		}
		hs.sleepUntil(hs.since(time.Now()) + 250*time.Millisecond)
	}
}

// Exponential, factor 2, capped at 8 s, for ever: the exact delays, and
// never FATAL.
func TestBackoffExponentialForever(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("bad", retries(3),
			backoff(config.Backoff{Exponential: true, Factor: 2, Max: 8 * time.Second, Forever: true}))), nil)
		got := failStarts(hs, "bad", 40*time.Second)
		// Delays 1, 2, 4, 8, 8, 8.
		if want := secs(0, 1, 3, 7, 15, 23, 31, 39); !slices.Equal(got, want) {
			t.Fatalf("spawns %v, want %v", got, want)
		}
		if hs.state("bad") == Fatal || slices.Contains(hs.transitions("bad"), "BACKOFF>FATAL") {
			t.Fatal("retry_forever went FATAL")
		}
	})
}

// The linear policy with a cap: 1, 2, 3, 3 s.
func TestBackoffLinearCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("bad", retries(4), backoff(config.Backoff{Max: 3 * time.Second}))), nil)
		got := failStarts(hs, "bad", 20*time.Second)
		if want := secs(0, 1, 3, 6, 9); !slices.Equal(got, want) {
			t.Fatalf("spawns %v, want %v", got, want)
		}
		hs.wantState("bad", Fatal)
	})
}

// backoff_reset: runs shorter than 10 s delay the restart by the policy
// (factor 3: 1, 3, 9 s); a run of 10 s resets the count.
func TestBackoffResetThreshold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("c", startsecs(0), restart(config.AutorestartTrue),
			backoff(config.Backoff{Exponential: true, Factor: 3, Reset: 10 * time.Second}))), nil)
		for _, at := range secs(0, 1, 9, 28, 28) {
			hs.sleepUntil(at)
			hs.wantState("c", Running)
			hs.exit(hs.lastPid("c"), 1)
		}
		hs.sleepUntil(time.Minute)
		// 0 (ran 0 s) +1 → 1 (ran 0 s) +3 → 4 (ran 5 s) +9 → 18 (ran 10 s:
		// reset) → 28 at once (ran 0 s) +1 → 29.
		if got, want := hs.spawnTimes("c"), secs(0, 1, 4, 18, 28, 29); !slices.Equal(got, want) {
			t.Fatalf("spawns %v, want %v", got, want)
		}
		if !hs.log.has("INFO delaying restart of c by 9s: it ran for less than 10 seconds") {
			t.Fatal(hs.log.lines)
		}
	})
}

// fatal_retry: FATAL is retried after 30 s with a fresh count; a stop
// while the retry is pending cancels it.
func TestBackoffFatalRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("bad", retries(1), backoff(config.Backoff{FatalRetry: 30 * time.Second}))), nil)
		got := failStarts(hs, "bad", 63*time.Second)
		// 0, +1 → FATAL at 1; retried at 31, +1 → FATAL at 32; 62.
		if want := secs(0, 1, 31, 32, 62, 63); !slices.Equal(got, want) {
			t.Fatalf("spawns %v, want %v", got, want)
		}
		hs.wantState("bad", Fatal)
		if err := hs.s.StopProcess(context.Background(), "bad", false); err != nil {
			t.Fatal(err)
		}
		hs.wantState("bad", Stopped)
		hs.sleepUntil(5 * time.Minute)
		if n := len(hs.spawnTimes("bad")); n != 6 {
			t.Fatalf("%d spawns after the stop", n)
		}
		if !hs.log.has("INFO retrying bad in 30s (fatal_retry)") {
			t.Fatal(hs.log.lines)
		}
	})
}

// startretries below 0 retries for ever, as retry_forever does (a
// deliberate difference: supervisord gives up after the first failure).
func TestBackoffNegativeStartretries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("bad", retries(-1))), nil)
		got := failStarts(hs, "bad", 30*time.Second)
		if want := secs(0, 1, 3, 6, 10, 15, 21, 28); !slices.Equal(got, want) {
			t.Fatalf("spawns %v, want %v", got, want)
		}
		if hs.state("bad") == Fatal {
			t.Fatal("FATAL")
		}
	})
}
