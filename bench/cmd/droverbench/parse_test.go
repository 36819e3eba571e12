package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		line string
		kind lineKind
		pid  int
	}{
		{"2026-11-22 04:28:07,409 INFO spawned: 'respawn' with pid 1319", kindSpawned, 1319},
		{"2026-11-22 04:28:07,703 INFO success: respawn entered RUNNING state, process has stayed up for > than 0 seconds (startsecs)", kindSuccess, 0},
		{"2026-11-22 04:28:07,708 WARN exited: respawn (terminated by SIGKILL; not expected)", kindExited, 0},
		{"2026-11-22 04:28:15,666 WARN stopped: respawn (terminated by SIGTERM)", kindStopped, 0},
		{"2026-11-22 04:28:15,666 INFO gave up: x entered FATAL state, too many start retries too quickly", kindGaveUp, 0},
		{"2026-11-22 04:28:06,294 INFO supervisord started with pid 1279", kindStarted, 0},
		{"garbage", kindOther, 0},
		{"", kindOther, 0},
		{"a b c spawned: 'x' with pid notanumber", kindSpawned, 0},
	}
	for _, c := range cases {
		k, pid := classify(c.line)
		if k != c.kind || pid != c.pid {
			t.Errorf("classify(%q) = %v, %d; want %v, %d", c.line, k, pid, c.kind, c.pid)
		}
	}
}

func TestParseStat(t *testing.T) {
	// The command name may hold spaces and parentheses.
	line := "1234 (we ird) (x) S 77 1234 1234 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 1 0 9876 1000 200 18446744073709551615\n"
	st, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if st.State != 'S' || st.PPid != 77 || st.UTime != 250 || st.STime != 31 || st.StartTicks != 9876 {
		t.Fatalf("parseStat = %+v", st)
	}
	for _, bad := range []string{"", "1 (x", "1 (x) S 2", "1 (x) S a b c d e f g h i j k l m n o p q r s t"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) accepted", bad)
		}
	}
}

func TestReadStatSelf(t *testing.T) {
	st, err := readStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.PPid != os.Getppid() || st.State == 'Z' {
		t.Fatalf("readStat(self) = %+v, ppid %d", st, os.Getppid())
	}
	if kb, err := rssKB(os.Getpid()); err != nil || kb <= 0 {
		t.Fatalf("rssKB = %d, %v", kb, err)
	}
	if per, err := taskSwitches(os.Getpid()); err != nil || len(per) < 1 {
		t.Fatalf("taskSwitches = %v, %v", per, err)
	}
}

func TestParseNote(t *testing.T) {
	n, err := parseNote(notifyMessage("start", 42, 123456789))
	if err != nil || n.Kind != "start" || n.Pid != 42 || n.Stamp != 123456789 {
		t.Fatalf("parseNote = %+v, %v", n, err)
	}
	for _, bad := range []string{"", "start", "start 1", "start x 1", "start 1 y", "a 1 2 3"} {
		if _, err := parseNote([]byte(bad)); err == nil {
			t.Errorf("parseNote(%q) accepted", bad)
		}
	}
}

func TestSelectMeasurements(t *testing.T) {
	w, err := selectMeasurements(nil)
	if err != nil || w["soak"] || w["scale"] || !w["respawn"] || !w["baseline"] || !w["bulk"] || !w["reload"] {
		t.Fatalf("default = %v, %v", w, err)
	}
	w, err = selectMeasurements([]string{"soak"})
	if err != nil || len(w) != 1 || !w["soak"] {
		t.Fatalf("soak = %v, %v", w, err)
	}
	w, err = selectMeasurements([]string{"fleet", "lines"})
	if err != nil || len(w) != 5 || !w["idle"] || !w["lines"] {
		t.Fatalf("fleet lines = %v, %v", w, err)
	}
	if _, err := selectMeasurements([]string{"nope"}); err == nil {
		t.Fatal("unknown measurement accepted")
	}
}

func TestStats(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median odd = %v", m)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("median even = %v", m)
	}
	if m := maximum([]float64{4, 1, 9, 2}); m != 9 {
		t.Errorf("max = %v", m)
	}
}

func TestTableAndJSON(t *testing.T) {
	r := &report{Date: "d", Nproc: 2, Kernel: "k"}
	r.set("a", "respawn", "ms", "≤ 2 ms", "drover", value(1.5, "ms"))
	r.set("a", "respawn", "ms", "≤ 2 ms", "supervisord", value(1000, "ms"))
	r.set("b", "rss", "MB", "≤ 12 MB", "drover", na("drover exited: boom | x"))
	r.set("b", "rss", "MB", "≤ 12 MB", "supervisord", value(40, "MB"))
	r.set("c", "idle", "count", "0", "drover", value(0, "count"))
	r.set("c", "idle", "count", "0", "supervisord", value(20, "count"))
	var b bytes.Buffer
	r.writeMarkdown(&b, []string{"drover", "supervisord"})
	out := b.String()
	for _, want := range []string{
		"| measurement | drover | supervisord | ratio | goal |",
		"| respawn | 1.50 ms | 1000 ms | 0.002× | ≤ 2 ms |",
		"| rss | n/a (drover exited: boom / x) | 40.0 MB | — | ≤ 12 MB |",
		"| idle | 0 | 20 | 0× | 0 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	path := filepath.Join(t.TempDir(), "results", "latest.json")
	if err := r.writeJSON(path); err != nil {
		t.Fatal(err)
	}
	j, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(j, []byte(`"value": null`)) || !bytes.Contains(j, []byte(`"ratio": "0.002×"`)) {
		t.Errorf("json:\n%s", j)
	}
	if !math.IsNaN(na("x").Value) {
		t.Error("n/a cell has a value")
	}
}

func TestShortErrKeepsTableShape(t *testing.T) {
	s := shortErr(os.ErrNotExist)
	if s == "" || strings.ContainsAny(shortErr(errString("a|b\nc")), "|\n") {
		t.Fatalf("shortErr = %q", s)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestParseScale(t *testing.T) {
	got, err := parseScale(" 5000,100, 1000,100")
	if err != nil || !slices.Equal(got, []int{100, 1000, 5000}) {
		t.Fatalf("parseScale = %v, %v", got, err)
	}
	for _, bad := range []string{"", ",", "0", "-5", "100,x", "1e3"} {
		if got, err := parseScale(bad); err == nil {
			t.Errorf("parseScale(%q) = %v, want an error", bad, got)
		}
	}
}

func TestFirstProblem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "main.log")
	log := "2026-12-06 00:51:39,555 CRIT Supervisor is running as root.\n" +
		"2026-12-06 00:51:39,684 INFO spawned: 'p0001' with pid 17974\n" +
		"2026-12-06 00:51:40,001 INFO spawnerr: too many open files to spawn 'p3998'\n" +
		"2026-12-06 00:51:45,001 INFO gave up: p3998 entered FATAL state, too many start retries too quickly\n"
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	if p := firstProblem(path); p != "spawnerr: too many open files to spawn 'p3998'" {
		t.Fatalf("firstProblem = %q", p)
	}
	if p := firstProblem(filepath.Join(t.TempDir(), "none")); p != "" {
		t.Fatalf("firstProblem of a missing file = %q", p)
	}
}

func TestScaleRowsHaveDistinctIDs(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range scaleKinds {
		for _, n := range []int{0, 100, 1000} {
			r := scaleRowFor(k, n, 5)
			if seen[r.id] || r.name == "" || r.unit == "" {
				t.Errorf("row %+v: repeated or empty", r)
			}
			seen[r.id] = true
		}
	}
}
