package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestTargetNames(t *testing.T) {
	cases := []struct {
		list, before string
		want         []string
		bad          bool
	}{
		{"drover,supervisord", "", []string{"drover", "supervisord"}, false},
		{"supervisord,drover", "", []string{"drover", "supervisord"}, false},
		{"drover,supervisord", "/old", []string{"drover-before", "drover", "supervisord"}, false},
		{"drover, drover-before", "/old", []string{"drover-before", "drover"}, false},
		{"supervisord", "/old", []string{"drover-before", "supervisord"}, false},
		{"drover,drover", "", []string{"drover"}, false},
		{"drover-before", "", nil, true},
		{"drover,nope", "", nil, true},
		{"", "", nil, true},
	}
	for _, c := range cases {
		got, err := targetNames(c.list, c.before)
		if c.bad {
			if err == nil {
				t.Errorf("targetNames(%q, %q) = %v, want an error", c.list, c.before, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("targetNames(%q, %q) = %v, %v; want %v", c.list, c.before, got, err, c.want)
		}
	}
}

func TestBeforeColumn(t *testing.T) {
	r := &report{Date: "d", Nproc: 2, Kernel: "k", DroverBeforeVersion: "drover 0.1"}
	r.set("a", "respawn", "ms", "≤ 2 ms", "drover-before", value(3, "ms"))
	r.set("a", "respawn", "ms", "≤ 2 ms", "drover", value(1.5, "ms"))
	r.set("a", "respawn", "ms", "≤ 2 ms", "supervisord", value(1000, "ms"))
	r.set("b", "rss", "MB", "≤ 12 MB", "drover-before", na("no status verb"))
	r.set("b", "rss", "MB", "≤ 12 MB", "drover", value(8, "MB"))
	r.set("b", "rss", "MB", "≤ 12 MB", "supervisord", value(40, "MB"))
	r.declare("c", "declared, never set", "s", "—")
	var b bytes.Buffer
	r.writeMarkdown(&b, []string{"drover-before", "drover", "supervisord"})
	out := b.String()
	for _, want := range []string{
		"- drover-before: drover 0.1",
		"| measurement | drover-before | drover | supervisord | ratio | drover ÷ before | goal |",
		"| respawn | 3.00 ms | 1.50 ms | 1000 ms | 0.002× | 0.50× | ≤ 2 ms |",
		"| rss | n/a (no status verb) | 8.00 MB | 40.0 MB | 0.20× | — | ≤ 12 MB |",
		"| declared, never set | — | — | — | — | — | — |",
		"drover ÷ before = drover ÷ drover-before",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	path := filepath.Join(t.TempDir(), "r.json")
	if err := r.writeJSON(path); err != nil {
		t.Fatal(err)
	}
	j, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(j, []byte(`"after_before": "0.50×"`)) {
		t.Errorf("json lacks after_before:\n%s", j)
	}

	// Without the before target: no extra column.
	b.Reset()
	r.writeMarkdown(&b, []string{"drover", "supervisord"})
	if strings.Contains(b.String(), "÷ before") {
		t.Errorf("before column without its target:\n%s", b.String())
	}
}
