package config

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestLimits(t *testing.T) {
	p, warns, err := loadProgram(t, "sockets = tcp://127.0.0.1:8080\nmemory_limit = 300MB\nworker_memory_limit = 120 mb\nmemory_grace = 2500ms\n"+
		"memory_action = signal:term\ncpu_limit = 150%\ncpu_grace = 30\n")
	if err != nil || len(warns) != 0 {
		t.Fatalf("%v %v", err, warns)
	}
	want := Limits{Memory: 300 << 20, WorkerMemory: 120 << 20, MemoryGrace: 2500 * time.Millisecond,
		MemoryAction: LimitAction{Signal: syscall.SIGTERM}, CPU: 150, CPUGrace: 30 * time.Second}
	if got := p.Drover.Limits; got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if s := want.MemoryAction.String(); s != "signal:TERM" {
		t.Errorf("action spelled %q", s)
	}
	// Defaults, all in limitDefaults: no limit is the zero Limits; a
	// limit gets its grace window and reload.
	p, _, err = loadProgram(t, "")
	if err != nil || p.Drover.Limits != (Limits{}) || p.Drover.Limits.Any() {
		t.Errorf("no limits: %+v %v", p.Drover.Limits, err)
	}
	p, _, _ = loadProgram(t, "memory_limit = 10MB\ncpu_limit = 90%%\n")
	want = Limits{Memory: 10 << 20, MemoryGrace: DefaultMemoryGrace, CPU: 90, CPUGrace: DefaultCPUGrace}
	if got := p.Drover.Limits; got != want || got.MemoryAction.String() != "reload" {
		t.Errorf("defaults %+v", got)
	}
	p, _, _ = loadProgram(t, "memory_limit = 1GB\nmemory_grace = 0\nmemory_action = reload\n")
	if l := p.Drover.Limits; l.Memory != 1<<30 || l.MemoryGrace != 0 || l.MemoryAction.Signal != 0 || !l.Any() {
		t.Errorf("1GB, no grace: %+v", l)
	}
}

func TestLimitErrors(t *testing.T) {
	for _, c := range []struct{ body, option string }{
		{"memory_limit = 300M\n", "memory_limit"}, // supervisord's byte_size: MB, not M
		{"memory_limit = -1\n", "memory_limit"},
		{"worker_memory_limit = lots\n", "worker_memory_limit"},
		{"memory_limit = 1MB\nmemory_grace = -5s\n", "memory_grace"},
		{"memory_limit = 1MB\nmemory_grace = soon\n", "memory_grace"},
		{"memory_limit = 1MB\nmemory_action = kill\n", "memory_action"},
		{"memory_limit = 1MB\nmemory_action = signal:KILL\n", "memory_action"}, // never a kill
		{"memory_limit = 1MB\nmemory_action = signal:9\n", "memory_action"},
		{"memory_limit = 1MB\nmemory_action = signal:NOPE\n", "memory_action"},
		{"cpu_limit = 0%\n", "cpu_limit"},
		{"cpu_limit = fast\n", "cpu_limit"},
		{"cpu_limit = 90%\ncpu_action = signal:STOP\n", "cpu_action"},
	} {
		_, _, err := loadProgram(t, c.body)
		line := "supervisord.conf:" + map[bool]string{true: "5", false: "4"}[strings.Count(c.body, "\n") == 2]
		if err == nil || !strings.Contains(err.Error(), "] "+c.option+":") || !strings.Contains(err.Error(), line+":") {
			t.Errorf("%q: error %v, want one naming %s at %s", c.body, err, c.option, line)
		}
	}
}

// A grace window or an action without its limit does nothing: a warning
// with its place.
func TestLimitWarnings(t *testing.T) {
	_, warns, err := loadProgram(t, "memory_grace = 5s\ncpu_action = signal:TERM\n")
	if err != nil || len(warns) != 2 {
		t.Fatalf("%v %+v", err, warns)
	}
	if w := warns[0]; w.Option != "memory_grace" || w.Pos.Line != 4 || !strings.Contains(w.Msg, "no effect") {
		t.Errorf("%+v", w)
	}
	if w := warns[1]; w.Option != "cpu_action" || w.Pos.Line != 5 {
		t.Errorf("%+v", w)
	}
}

func TestLimitChangeIsAChange(t *testing.T) {
	a, _, _ := loadProgram(t, "memory_limit = 300MB\n")
	b, _, _ := loadProgram(t, "memory_limit = 400MB\n")
	if a.Equal(b) {
		t.Errorf("a changed memory_limit compares equal: update would not apply it")
	}
}

// A limit whose reload is a restart is worth a warning.
func TestLimitRestartWarns(t *testing.T) {
	_, warns, err := loadProgram(t, "memory_limit = 100MB\n")
	if err != nil || len(warns) != 1 || warns[0].Option != "memory_limit" || warns[0].Pos.Line != 4 ||
		!strings.Contains(warns[0].Msg, "not zero-downtime") {
		t.Fatalf("%v %+v", err, warns)
	}
	for _, body := range []string{
		"memory_limit = 100MB\nsockets = tcp://127.0.0.1:8080\n",
		"memory_limit = 100MB\nmemory_action = signal:TERM\n",
	} {
		if _, warns, err := loadProgram(t, body); err != nil || len(warns) != 0 {
			t.Errorf("%q: %v %+v", body, err, warns)
		}
	}
}

// A listener may subscribe to the watchdog's own event type.
func TestLimitEventSubscription(t *testing.T) {
	cfg, err := loadText(t, "[eventlistener:alerts]\ncommand = /bin/cat\nevents = PROCESS_LIMIT_EXCEEDED\n")
	if err != nil || len(cfg.Groups) != 1 || cfg.Groups[0].Events[0] != "PROCESS_LIMIT_EXCEEDED" {
		t.Fatalf("%v %+v", err, cfg)
	}
}
