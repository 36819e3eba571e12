package config

import "time"

// Health is drover's health check of a RUNNING program: Probe every
// Interval, each try bounded by Timeout; Threshold failures in a row
// trigger the program's reload (its restart where it has no reload=).
type Health struct {
	Probe     Ready // http or tcp; the zero value: no health check
	Interval  time.Duration
	Timeout   time.Duration
	Threshold int
}

func (h Health) equal(o Health) bool {
	return h.Probe.String() == o.Probe.String() && h.Interval == o.Interval &&
		h.Timeout == o.Timeout && h.Threshold == o.Threshold
}

// Any reports whether a health check is configured.
func (h Health) Any() bool { return h.Probe.Kind != "" }

// healthOptions are the health check's keys (drover's own).
var healthOptions = []string{"health", "health_interval", "health_timeout", "health_threshold"}

// Health check defaults.
const (
	DefaultHealthInterval  = 10 * time.Second
	DefaultHealthTimeout   = 5 * time.Second
	DefaultHealthThreshold = 3
)

// buildHealth reads the health keys of one [program:x] section; d has
// its sockets and readiness (a {probe} URL needs ready= through the probe
// socket, which only then exists).
func buildHealth(g *getter, d Drover) Health {
	var h Health
	if v, ok := g.str("health"); ok {
		r, err := ParseReady(v)
		switch {
		case err != nil:
			g.fail("health", verr("%v", err))
		case r.Kind != ReadyHTTP && r.Kind != ReadyTCP:
			g.failf("health", "%q: a health check is http://… or tcp://… (%s only tells when a start is over)", v, r.Kind)
		case r.ViaProbe && !d.Ready.ViaProbe:
			g.failf("health", "%q needs ready = http://{probe}/… (the probe socket exists only then)", v)
		default:
			if warns, err := r.Validate(d.Sockets); err != nil {
				g.fail("health", verr("%v", err))
			} else {
				for _, w := range warns {
					g.warn("health", "health"+w[len("ready"):])
				}
			}
			h.Probe = r
		}
	}
	h.Interval = DefaultHealthInterval
	if v, ok := conv(g, "health_interval", duration); ok {
		if v < 100*time.Millisecond {
			g.failf("health_interval", "%v is too short: use at least 100ms", v)
		}
		h.Interval = v
	}
	h.Timeout = DefaultHealthTimeout
	if v, ok := conv(g, "health_timeout", duration); ok {
		if v <= 0 {
			g.failf("health_timeout", "must be above 0")
		}
		h.Timeout = v
	}
	h.Threshold = DefaultHealthThreshold
	if g.has("health_threshold") {
		n := g.int("health_threshold")
		if n < 1 {
			g.failf("health_threshold", "%d: use 1 or more (failures in a row)", n)
		}
		h.Threshold = n
	}
	if !h.Any() {
		for _, k := range healthOptions[1:] {
			if g.has(k) {
				g.warn(k, "ignored without health=")
			}
		}
		return Health{}
	}
	return h
}
