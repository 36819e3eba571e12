package config

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// limitOptions are the watchdog's [program:x] keys (drover's own; see
// docs/config.md "Memory and CPU limits"). Their defaults are in
// limitDefaults.
var limitOptions = []string{
	"memory_limit", "worker_memory_limit", "memory_grace", "memory_action",
	"cpu_limit", "cpu_grace", "cpu_action",
}

// Limits are a program's watchdog limits. A zero limit is none; a program
// without any is never sampled.
type Limits struct {
	// Memory bounds the RSS of the program's whole process tree (the main
	// pid and every descendant), in bytes (memory_limit).
	Memory int64
	// WorkerMemory bounds the RSS of any one process below the main pid
	// (worker_memory_limit).
	WorkerMemory int64
	// MemoryGrace is how long a breach must hold before the action
	// (memory_grace; default 10 s).
	MemoryGrace  time.Duration
	MemoryAction LimitAction
	// CPU bounds the CPU time of the whole tree, in percent of one CPU,
	// averaged between two samples (cpu_limit).
	CPU       float64
	CPUGrace  time.Duration // cpu_grace; default 60 s
	CPUAction LimitAction
}

// Any reports whether some limit is set.
func (l Limits) Any() bool { return l.Memory > 0 || l.WorkerMemory > 0 || l.CPU > 0 }

// LimitAction is what the watchdog does on a breach: the program's reload
// (Signal 0), or Signal sent to the biggest process below the main pid.
type LimitAction struct {
	Signal syscall.Signal
}

// String spells the action as the config does.
func (a LimitAction) String() string {
	if a.Signal == 0 {
		return "reload"
	}
	return "signal:" + signalName(a.Signal)
}

// Default grace windows: memory grows steadily when it leaks, CPU spikes
// are normal (a deploy's first requests, a cron burst).
const (
	DefaultMemoryGrace = 10 * time.Second
	DefaultCPUGrace    = 60 * time.Second
)

// buildLimits reads the watchdog's options of one [program:x] section.
func buildLimits(g *getter) Limits {
	var l Limits
	l.Memory = limitBytes(g, "memory_limit")
	l.WorkerMemory = limitBytes(g, "worker_memory_limit")
	l.MemoryGrace = grace(g, "memory_grace")
	l.MemoryAction = limitAction(g, "memory_action")
	// Read unexpanded: "150%" is how a CPU share is written.
	if text, _, none := g.raw("cpu_limit"); !none {
		v, err := percent(text)
		if err != nil {
			g.fail("cpu_limit", err)
		}
		l.CPU = v
	}
	l.CPUGrace = grace(g, "cpu_grace")
	l.CPUAction = limitAction(g, "cpu_action")
	for _, k := range []string{"memory_grace", "memory_action"} {
		if g.has(k) && l.Memory == 0 && l.WorkerMemory == 0 {
			g.warn(k, k+" has no effect without memory_limit or worker_memory_limit")
		}
	}
	for _, k := range []string{"cpu_grace", "cpu_action"} {
		if g.has(k) && l.CPU == 0 {
			g.warn(k, k+" has no effect without cpu_limit")
		}
	}
	limitDefaults(&l)
	return l
}

// limitWarnings warns about a limit whose reload is a stop and start.
func limitWarnings(g *getter, d Drover) {
	if d.Reload != ReloadRestart {
		return
	}
	for _, c := range []struct {
		key string
		on  bool
	}{
		{"memory_limit", (d.Limits.Memory > 0 || d.Limits.WorkerMemory > 0) && d.Limits.MemoryAction.Signal == 0},
		{"cpu_limit", d.Limits.CPU > 0 && d.Limits.CPUAction.Signal == 0},
	} {
		if c.on {
			key := c.key
			if key == "memory_limit" && !g.has(key) {
				key = "worker_memory_limit"
			}
			g.warn(key, "the watchdog's reload of this program is a stop and start (not zero-downtime: add sockets= or reload=)")
		}
	}
}

// limitDefaults sets every default of the watchdog's options. A program
// without limits keeps the zero Limits.
func limitDefaults(l *Limits) {
	if l.Memory == 0 && l.WorkerMemory == 0 {
		l.MemoryGrace, l.MemoryAction = 0, LimitAction{}
	} else if l.MemoryGrace < 0 {
		l.MemoryGrace = DefaultMemoryGrace
	}
	if l.CPU == 0 {
		l.CPUGrace, l.CPUAction = 0, LimitAction{}
	} else if l.CPUGrace < 0 {
		l.CPUGrace = DefaultCPUGrace
	}
}

// limitBytes reads a byte size (supervisord's KB, MB, GB suffixes); 0 or
// absent is no limit.
func limitBytes(g *getter, key string) int64 {
	n, ok := conv(g, key, byteSize)
	if !ok {
		return 0
	}
	if n < 0 {
		g.failf(key, "%d is negative", n)
		return 0
	}
	return n
}

// grace reads a duration ("10s", "500ms", "2m", or whole seconds); -1
// when absent (the default applies).
func grace(g *getter, key string) time.Duration {
	d, ok := conv(g, key, duration)
	if !ok {
		return -1
	}
	return d
}

// duration is a Go duration or a whole number of seconds, not negative.
func duration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if n, err := pyInt(t); err == nil {
		if n < 0 {
			return 0, verr("%q is negative", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, verr("%q is not a duration: use e.g. 10s, 500ms, 2m or a number of seconds", s)
	}
	if d < 0 {
		return 0, verr("%q is negative", s)
	}
	return d, nil
}

// percent is "150%" (or "150"): percent of one CPU, above 0. "150%%"
// is accepted too, as written for supervisord's % expansion.
func percent(s string) (float64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSpace(s), "%"), "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || v <= 0 || v > 1e6 {
		return 0, verr("%q is not a CPU limit: use a percentage of one CPU above 0, e.g. 90%% or 250%%", s)
	}
	return v, nil
}

// limitAction is "reload" or "signal:NAME"; a kill is refused (the
// watchdog never kills: a signal the server handles gracefully, or the
// zero-downtime reload).
func limitAction(g *getter, key string) LimitAction {
	v, ok := g.str(key)
	if !ok {
		return LimitAction{}
	}
	v = strings.TrimSpace(v)
	if strings.EqualFold(v, "reload") {
		return LimitAction{}
	}
	name, isSig := strings.CutPrefix(strings.ToLower(v), "signal:")
	if !isSig {
		g.failf(key, "%q is not an action: use reload or signal:NAME (e.g. signal:TERM)", v)
		return LimitAction{}
	}
	sig, err := signalNumber(name)
	if err != nil {
		g.fail(key, err)
		return LimitAction{}
	}
	if sig == syscall.SIGKILL || sig == syscall.SIGSTOP {
		g.failf(key, "%s is refused: the watchdog never kills; use a signal the server handles gracefully (e.g. signal:TERM) or reload", v)
		return LimitAction{}
	}
	return LimitAction{Signal: sig}
}

// signalName is sig's name without SIG, or its number.
func signalName(sig syscall.Signal) string {
	for _, e := range signalNames {
		if e.sig == sig {
			return strings.TrimPrefix(e.name, "SIG")
		}
	}
	return fmt.Sprint(int(sig))
}
