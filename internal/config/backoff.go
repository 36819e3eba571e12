package config

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Backoff is drover's restart delay policy: how long the Nth retry of a
// failed start (BACKOFF) or of a run shorter than Reset waits, whether the
// retries ever end, and whether FATAL is retried.
type Backoff struct {
	// Exponential: the Nth delay is Factor^(N-1) seconds; linear (the
	// default, supervisord's): N seconds.
	Exponential bool
	Factor      float64       // backoff_factor; 0 means 2
	Max         time.Duration // backoff_max: cap of one delay; 0: none, 60 s when exponential
	// Reset is backoff_reset: a run at least this long resets the count of
	// short runs; 0 means 1 s (drover's crash-loop delay). The zero value
	// is supervisord's policy (and drover's crash-loop delay).
	Reset time.Duration
	// Forever is retry_forever: BACKOFF never turns FATAL.
	Forever bool
	// FatalRetry is fatal_retry: FATAL is retried after it; 0 never.
	FatalRetry time.Duration
}

// backoffOptions are the policy's keys (drover's; supervisord ignores them).
var backoffOptions = []string{"backoff", "backoff_factor", "backoff_max", "backoff_reset", "retry_forever", "fatal_retry"}

// ResetAfter is Reset, 1 s when unset (listener and fcgi processes).
func (b Backoff) ResetAfter() time.Duration {
	if b.Reset <= 0 {
		return time.Second
	}
	return b.Reset
}

// Delay is the wait before the nth retry (n ≥ 1).
func (b Backoff) Delay(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	var d time.Duration
	limit := b.Max
	if b.Exponential {
		factor := b.Factor
		if factor == 0 {
			factor = 2
		}
		if limit == 0 {
			limit = time.Minute
		}
		f := math.Pow(factor, float64(n-1)) * float64(time.Second)
		if f > float64(math.MaxInt64/2) {
			f = float64(math.MaxInt64 / 2)
		}
		d = time.Duration(f)
	} else {
		d = time.Duration(n) * time.Second
	}
	if limit > 0 && d > limit {
		d = limit
	}
	return d
}

// buildBackoff reads the policy's keys of one [program:x] section.
func buildBackoff(g *getter) Backoff {
	var b Backoff
	if v, ok := g.str("backoff"); ok {
		switch strings.ToLower(pyStrip(v)) {
		case "linear":
		case "exponential":
			b.Exponential = true
		default:
			g.failf("backoff", "%q is not a backoff policy: use linear or exponential", v)
		}
	}
	if v, ok := g.str("backoff_factor"); ok {
		f, err := strconv.ParseFloat(pyStrip(v), 64)
		switch {
		case err != nil || math.IsNaN(f):
			g.failf("backoff_factor", "%q is not a number", v)
		case f < 1 || f > 10:
			g.failf("backoff_factor", "%v is out of range: use 1 to 10", f)
		default:
			b.Factor = f
		}
		if !b.Exponential {
			g.warn("backoff_factor", "ignored without backoff = exponential")
		}
	}
	b.Max, _ = conv(g, "backoff_max", duration)
	if d, ok := conv(g, "backoff_reset", duration); ok {
		b.Reset = d
		if d == 0 {
			g.failf("backoff_reset", "must be above 0")
		}
	}
	if g.has("retry_forever") {
		b.Forever = g.bool("retry_forever")
	}
	b.FatalRetry, _ = conv(g, "fatal_retry", duration)
	if b.Forever && b.FatalRetry > 0 {
		g.warn("fatal_retry", "has no effect with retry_forever = true (the program never becomes FATAL)")
	}
	return b
}
