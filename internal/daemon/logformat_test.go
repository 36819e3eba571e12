package daemon_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// stdout_timestamps and stdout_logformat = json through the whole daemon,
// with real children: the files hold the formatted lines, and
// tailProcessStdoutLog reads them as written.
func TestLogLineFormats(t *testing.T) {
	dir := t.TempDir()
	prog := func(name, extra string) string {
		return "[program:" + name + "]\ncommand = /bin/sh -c 'printf \"one\\ntwo \\377\\n\"; exec sleep 600'\nstartsecs = 0\n" +
			"stdout_logfile = " + filepath.Join(dir, name+".log") + "\n" + extra + "\n\n"
	}
	f := start(t, prog("ts", "stdout_timestamps = true\nlog_timestamp_format = 2006-01-02 15:04:05.000")+
		prog("js", "stdout_logformat = json\nlog_timestamp_format = unix")+prog("plain", ""))
	for _, name := range []string{"ts", "js", "plain"} {
		f.waitLine(`'` + name + `' stdout output:`)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := read("plain"); got != "one\ntwo \xff\n" {
		t.Errorf("plain: %q", got)
	}
	ts := read("ts")
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} one\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} two .\n$`).MatchString(ts) {
		t.Errorf("ts: %q", ts)
	}
	var msgs []string
	for l := range strings.SplitSeq(strings.TrimSuffix(read("js"), "\n"), "\n") {
		var j struct {
			Time    float64 `json:"time"`
			Process string  `json:"process"`
			Stream  string  `json:"stream"`
			Message string  `json:"message"`
		}
		if err := json.Unmarshal([]byte(l), &j); err != nil || j.Time < 1e9 || j.Process != "js" || j.Stream != "stdout" {
			t.Errorf("js line %q: %+v %v", l, j, err)
		}
		msgs = append(msgs, j.Message)
	}
	if strings.Join(msgs, "|") != "one|two \ufffd" {
		t.Errorf("js messages %q", msgs)
	}
	tail := f.call("supervisor.tailProcessStdoutLog", "ts", 0, 1000).([]any)
	if got, _ := tail[0].(string); !regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} one\n`).MatchString(got) {
		t.Errorf("tail of ts: %q", got)
	}
}
