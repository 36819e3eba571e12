package config

import (
	"strings"
	"testing"
	"time"
)

func TestDependsOn(t *testing.T) {
	cfg := mustLoad(t, `[supervisord]
[program:db]
command = /bin/db
ready = tcp://127.0.0.1:5432
[program:migrate]
command = /bin/migrate
[program:web]
command = /bin/web
depends_on = db:ready, migrate:exited, cache
[program:cache]
command = /bin/cache
`)
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings: %v", cfg.Warnings)
	}
	var web *Process
	for _, g := range cfg.Groups {
		if g.Name == "web" {
			web = g.Processes[0]
		}
	}
	want := []Dependency{{"db", DepReady}, {"migrate", DepExited}, {"cache", DepRunning}}
	if !dependsEqual(web.Drover.DependsOn, want) || web.Drover.DependsOnPos.Line != 9 {
		t.Fatalf("depends_on %v at %v", web.Drover.DependsOn, web.Drover.DependsOnPos)
	}
}

func TestDependsOnErrors(t *testing.T) {
	for _, c := range []struct{ conf, want string }{
		{"[program:a]\ncommand=a\ndepends_on = b\n[program:b]\ncommand=b\ndepends_on = c:started\n[program:c]\ncommand=c\ndepends_on = a:exited\n",
			"supervisord.conf:10: [program:c] depends_on: dependency cycle: a -> b -> c -> a"},
		{"[program:a]\ncommand=a\ndepends_on = a\n", "supervisord.conf:4: [program:a] depends_on: dependency cycle: a -> a"},
		// A group named as the dependency closes the cycle through its members.
		{"[group:g]\nprograms=a,b\n[program:a]\ncommand=a\n[program:b]\ncommand=b\ndepends_on = g\n", "dependency cycle: b -> b"},
		{"[program:a]\ncommand=a\ndepends_on = nope\n", `supervisord.conf:4: [program:a] depends_on: "nope" names no program or group (defined: a)`},
		{"[program:a]\ncommand=a\ndepends_on = b:healthy\n[program:b]\ncommand=b\n", `unknown condition "healthy": use started, running, ready or exited`},
		{"[program:a]\ncommand=a\ndepends_on = b:ready\n[program:b]\ncommand=b\n", "b:ready: b has no ready= probe (add one, or use b:running)"},
		{"[program:a]\ncommand=a\ndepends_on = b, b:ready\n[program:b]\ncommand=b\n", `"b" is named twice`},
	} {
		dir, p := writeConf(t, "[supervisord]\n"+c.conf)
		_, err := Load(p, testOptions(dir))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.conf, err, c.want)
		}
	}
}

func TestBackoffOptions(t *testing.T) {
	p, warns, err := loadProgram(t, "backoff = exponential\nbackoff_factor = 1.5\nbackoff_max = 15\nbackoff_reset = 30\nretry_forever = true\n")
	if err != nil || len(warns) != 0 {
		t.Fatal(err, warns)
	}
	want := Backoff{Exponential: true, Factor: 1.5, Max: 15 * time.Second, Reset: 30 * time.Second, Forever: true}
	if p.Drover.Backoff != want {
		t.Fatalf("%+v", p.Drover.Backoff)
	}
	var got []time.Duration
	for n := 1; n <= 8; n++ {
		got = append(got, want.Delay(n))
	}
	ms := func(xs ...int) (out []time.Duration) {
		for _, x := range xs {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	if w := ms(1000, 1500, 2250, 3375, 5062, 7593, 11390, 15000); !equalDurations(got, w, time.Millisecond) {
		t.Errorf("delays %v, want %v", got, w)
	}
	// The zero value is supervisord's linear policy, uncapped.
	if d := (Backoff{}).Delay(100); d != 100*time.Second {
		t.Errorf("linear delay %v", d)
	}
	if d := (Backoff{Exponential: true}).Delay(100); d != time.Minute {
		t.Errorf("exponential default cap %v", d)
	}
	p, _, err = loadProgram(t, "fatal_retry = 60\nbackoff_reset = 1m30s\n")
	if err != nil || p.Drover.Backoff.FatalRetry != time.Minute || p.Drover.Backoff.Reset != 90*time.Second {
		t.Fatal(err, p.Drover.Backoff)
	}
	for _, c := range []struct{ body, want string }{
		{"backoff = fibonacci\n", `supervisord.conf:4: [program:web] backoff: "fibonacci" is not a backoff policy: use linear or exponential`},
		{"backoff = exponential\nbackoff_factor = 0.5\n", "backoff_factor: 0.5 is out of range: use 1 to 10"},
		{"backoff_max = -1\n", `backoff_max: "-1" is negative`},
		{"backoff_reset = 0\n", "backoff_reset: must be above 0"},
		{"fatal_retry = soon\n", "fatal_retry:"},
		{"retry_forever = maybe\n", "retry_forever:"},
	} {
		if _, _, err := loadProgram(t, c.body); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.body, err, c.want)
		}
	}
	if _, warns, _ := loadProgram(t, "fatal_retry = 60\nexit_daemon_on = fatal\n"); len(warns) != 1 || !strings.Contains(warns[0].String(), "fatal_retry: has no effect with exit_daemon_on = fatal") {
		t.Errorf("warnings %v", warns)
	}
	if _, warns, _ := loadProgram(t, "backoff_factor = 3\n"); len(warns) != 1 || !strings.Contains(warns[0].String(), "ignored without backoff = exponential") {
		t.Errorf("warnings %v", warns)
	}
}

func equalDurations(a, b []time.Duration, tol time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if d := a[i] - b[i]; d > tol || d < -tol {
			return false
		}
	}
	return true
}

// A [group:x]'s depends_on applies to every member, beside the member's
// own (which keeps its condition for a name both give).
func TestGroupDependsOn(t *testing.T) {
	cfg := mustLoad(t, `[supervisord]
[group:app]
programs = web, worker
depends_on = db:ready, cache
[program:web]
command = /bin/web
depends_on = cache:started
[program:worker]
command = /bin/worker
[program:db]
command = /bin/db
ready = tcp://127.0.0.1:5432
[program:cache]
command = /bin/cache
`)
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings: %v", cfg.Warnings)
	}
	got := map[string][]Dependency{}
	for _, g := range cfg.Groups {
		for _, p := range g.Processes {
			got[p.Name] = p.Drover.DependsOn
		}
	}
	if w := []Dependency{{"cache", DepStarted}, {"db", DepReady}}; !dependsEqual(got["web"], w) {
		t.Errorf("web %v, want %v", got["web"], w)
	}
	if w := []Dependency{{"db", DepReady}, {"cache", DepRunning}}; !dependsEqual(got["worker"], w) {
		t.Errorf("worker %v, want %v", got["worker"], w)
	}
	// The cycle is reported where it closes: here the group's depends_on.
	dir, p := writeConf(t, "[supervisord]\n[group:app]\nprograms = web\ndepends_on = api\n[program:web]\ncommand = /bin/web\n[program:api]\ncommand = /bin/api\ndepends_on = app\n")
	if _, err := Load(p, testOptions(dir)); err == nil || !strings.Contains(err.Error(), "supervisord.conf:4: [group:app] depends_on: dependency cycle: api -> web -> api") {
		t.Errorf("a cycle through a group: %v", err)
	}
}
