package cli

import (
	"bytes"
	"slices"
	"testing"
	"time"
)

func TestParseReloadOpts(t *testing.T) {
	o, names, err := parseReloadOpts([]string{"--batch", "2", "web:*", "--progress", "--batch=3", "api"})
	if err != nil || o.batch != 3 || !o.progress || !slices.Equal(names, []string{"web:*", "api"}) {
		t.Fatalf("%+v %v %v", o, names, err)
	}
	for _, bad := range [][]string{{"--batch"}, {"--batch", "0"}, {"--batch=x"}} {
		if _, _, err := parseReloadOpts(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// The progress feed keeps the reload lines logged since the roll began,
// whole lines only, across writes that split them.
func TestProgressWriter(t *testing.T) {
	var out bytes.Buffer
	since := time.Date(2026, 12, 6, 4, 0, 0, 0, time.Local)
	w := &progressWriter{c: &ctl{errw: &out}, since: since, ended: map[string]bool{}, changed: make(chan struct{})}
	log := "2026-12-06 03:59:58,000 INFO reloaded: web_0 (bluegreen, pid 9)\n" + // before the roll
		"2026-12-06 04:00:01,000 INFO reloading 'web_0' (bluegreen): starting a new generation beside pid 10\n" +
		"2026-12-06 04:00:01,500 INFO spawned: 'web_0' with pid 11 (new generation)\n" +
		"2026-12-06 04:00:02,000 INFO reloaded: web_0 (bluegreen, pid 11)\n" +
		"2026-12-06 04:00:02,100 WARN reload of 'web_1' failed: not ready\n"
	for i := 0; i < len(log); i += 7 {
		w.Write([]byte(log[i:min(i+7, len(log))]))
	}
	want := "  04:00:01 reloading 'web_0' (bluegreen): starting a new generation beside pid 10\n" +
		"  04:00:02 reloaded: web_0 (bluegreen, pid 11)\n" +
		"  04:00:02 reload of 'web_1' failed: not ready\n"
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
	if !w.endedAll([]string{"web_0", "web_1"}) || w.endedAll([]string{"web_2"}) {
		t.Fatalf("ended %v", w.ended)
	}
}
