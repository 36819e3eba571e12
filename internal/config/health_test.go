package config

import (
	"strings"
	"testing"
	"time"
)

func TestHealthOptions(t *testing.T) {
	p, warns, err := loadProgram(t, "sockets = tcp://127.0.0.1:8080\nready = http://{probe}/\nhealth = http://{probe}/healthz\nhealth_interval = 2s\nhealth_timeout = 500ms\nhealth_threshold = 4\n")
	if err != nil || len(warns) != 0 {
		t.Fatal(err, warns)
	}
	h := p.Drover.Health
	if h.Probe.String() != "http://{probe}/healthz" || h.Interval != 2*time.Second || h.Timeout != 500*time.Millisecond || h.Threshold != 4 {
		t.Fatalf("%+v", h)
	}
	p, _, err = loadProgram(t, "health = tcp://127.0.0.1:5432\n")
	if err != nil || p.Drover.Health != (Health{Probe: p.Drover.Health.Probe, Interval: 10 * time.Second, Timeout: 5 * time.Second, Threshold: 3}) {
		t.Fatal(err, p.Drover.Health)
	}
	for _, c := range []struct{ body, want string }{
		{"health = uptime:5s\n", `supervisord.conf:4: [program:web] health: "uptime:5s": a health check is http://… or tcp://…`},
		{"health = notify\n", "a health check is http://… or tcp://…"},
		{"health = http://{probe}/\n", `"http://{probe}/" needs ready = http://{probe}/… (the probe socket exists only then)`},
		{"health = ftp://x\n", "health: "},
		{"health = tcp://127.0.0.1:80\nhealth_threshold = 0\n", "health_threshold: 0: use 1 or more"},
		{"health = tcp://127.0.0.1:80\nhealth_interval = 10ms\n", "health_interval: 10ms is too short"},
		{"health = tcp://127.0.0.1:80\nhealth_timeout = soon\n", "health_timeout: "},
		{"sockets = tcp://127.0.0.1:8080\nhealth = tcp://127.0.0.1:8080\n", "drover holds tcp://127.0.0.1:8080, so a connect always succeeds"},
	} {
		if _, _, err := loadProgram(t, c.body); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.body, err, c.want)
		}
	}
	if _, warns, _ := loadProgram(t, "health_interval = 5\n"); len(warns) != 1 || !strings.Contains(warns[0].String(), "health_interval: ignored without health=") {
		t.Errorf("warnings %v", warns)
	}
}

func TestHealthEventSubscribable(t *testing.T) {
	cfg, err := loadText(t, "[eventlistener:alerts]\ncommand = /bin/cat\nevents = PROCESS_HEALTH_FAILED\n")
	if err != nil || len(cfg.Groups) != 1 || cfg.Groups[0].Events[0] != "PROCESS_HEALTH_FAILED" {
		t.Fatal(err)
	}
}

func TestIssue18KeysOutsidePrograms(t *testing.T) {
	cfg, err := loadText(t, "[eventlistener:alerts]\ncommand = /bin/cat\nevents = PROCESS_HEALTH_FAILED\ndepends_on = db\nbackoff = exponential\nhealth = tcp://127.0.0.1:1\n")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range cfg.Warnings {
		if strings.Contains(w.Msg, "ignored: only [program:x] sections have it") {
			got = append(got, w.Option)
		}
	}
	if strings.Join(got, ",") != "depends_on,backoff,health" {
		t.Fatalf("warnings %v", cfg.Warnings)
	}
}
