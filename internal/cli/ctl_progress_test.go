package cli

import (
	"bytes"
	"slices"
	"strings"
	"testing"
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

// The progress feed prints the reload steps of the group it follows, in
// the events' readable form, and notes whose reload ended.
func TestProgressTakesReloadSteps(t *testing.T) {
	var out bytes.Buffer
	w := &progress{c: &ctl{errw: &out}, group: "web", ended: map[string]bool{}, changed: make(chan struct{})}
	for _, e := range []string{
		`{"type":"PROCESS_RELOAD_STARTED","time":"2026-12-06T04:00:01Z","group":"web","name":"web_0","phase":"STARTED","strategy":"bluegreen","old_pid":10}`,
		`{"type":"PROCESS_STATE_RUNNING","time":"2026-12-06T04:00:01Z","group":"web","name":"web_0","from":"STARTING","to":"RUNNING","pid":10}`,
		`{"type":"PROCESS_RELOAD_DONE","time":"2026-12-06T04:00:02Z","group":"web","name":"web_0","phase":"DONE","strategy":"bluegreen","old_pid":10,"new_pid":11,"elapsed_ms":900}`,
		`{"type":"PROCESS_RELOAD_FAILED","time":"2026-12-06T04:00:02Z","group":"web","name":"web_1","phase":"FAILED","strategy":"bluegreen","old_pid":12,"error":"not ready"}`,
		`{"type":"PROCESS_RELOAD_DONE","time":"2026-12-06T04:00:02Z","group":"api","name":"api","phase":"DONE","strategy":"bluegreen","old_pid":20,"new_pid":21}`,
	} {
		w.take([]byte(e))
	}
	got := out.String()
	if strings.Count(got, "\n") != 3 || !strings.Contains(got, "web:web_0 reload DONE bluegreen (old pid 10, new pid 11, 900 ms)") ||
		!strings.Contains(got, "web:web_1 reload FAILED bluegreen (old pid 12, 0 ms, not ready)") || strings.Contains(got, "api") {
		t.Fatalf("printed:\n%s", got)
	}
	if !w.endedAll([]string{"web_0", "web_1"}) || w.endedAll([]string{"api"}) {
		t.Fatalf("ended %v", w.ended)
	}
}
