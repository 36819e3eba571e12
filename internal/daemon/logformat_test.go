package daemon_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
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

// drover logrotate and drover.rotateLogs with real children: the running
// program's log moves to .1 (supervisord's naming) and its next output
// goes to a new file; a stopped program's log is rotated too; rotating
// everything again shifts .1 to .2.
func TestLogrotate(t *testing.T) {
	dir := t.TempDir()
	prog := func(name string) string {
		return "[program:" + name + "]\ncommand = /bin/sh -c 'echo first; read x; echo second; exec sleep 600'\nstartsecs = 0\n" +
			"stdout_logfile = " + filepath.Join(dir, name+".log") + "\nstdout_logfile_backups = 3\n\n"
	}
	f := start(t, prog("a")+prog("b"))
	f.waitLine(`'a' stdout output:`)
	f.waitLine(`'b' stdout output:`)
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return "-"
		}
		return string(b)
	}
	rs := f.call("drover.rotateLogs", "a").([]any)
	if len(rs) != 1 || rs[0].(map[string]any)["status"] != 80 {
		t.Fatalf("rotateLogs a: %v", rs)
	}
	if read("a.log") != "" || read("a.log.1") != "first\n" || read("b.log") != "first\n" {
		t.Fatalf("after rotating a: a %q a.1 %q b %q", read("a.log"), read("a.log.1"), read("b.log"))
	}
	mark := f.mark()
	f.call("supervisor.sendProcessStdin", "a", "go\n")
	f.waitLineAfter(mark, `'a' stdout output:`)
	if read("a.log") != "second\n" {
		t.Fatalf("a's output after the rotation: %q", read("a.log"))
	}
	f.call("supervisor.stopProcess", "b", true)
	cmd := exec.Command(droverBin, "logrotate", "-s", "unix://"+f.sock)
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "a: rotated\nb: rotated\n" {
		t.Fatalf("drover logrotate: %v %q", err, out)
	}
	if read("a.log.1") != "second\n" || read("a.log.2") != "first\n" || read("b.log") != "" || read("b.log.1") != "first\n" {
		t.Fatalf("after drover logrotate: a.1 %q a.2 %q b %q b.1 %q", read("a.log.1"), read("a.log.2"), read("b.log"), read("b.log.1"))
	}
	out, err = exec.Command(droverBin, "logrotate", "-s", "unix://"+f.sock, "nope").CombinedOutput()
	if err == nil || string(out) != "nope: ERROR (no such process)\n" {
		t.Fatalf("drover logrotate nope: %v %q", err, out)
	}
}

// stdout_logfile_rotate = daily reaches the program's Writer: a log last
// written yesterday is rotated when the program starts writing today.
func TestLogfileRotateDailyWired(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "d.log")
	if err := os.WriteFile(path, []byte("yesterday\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	f := start(t, "[program:d]\ncommand = /bin/sh -c 'echo today; exec sleep 600'\nstartsecs = 0\nstdout_logfile = "+path+
		"\nstdout_logfile_rotate = daily\n\n")
	f.waitLine(`'d' stdout output:`)
	a, _ := os.ReadFile(path)
	b, _ := os.ReadFile(path + ".1")
	if string(a) != "today\n" || string(b) != "yesterday\n" {
		t.Fatalf("d.log %q, d.log.1 %q", a, b)
	}
}

// GET /logtail/all (drover tail -f all) with real children that write
// each line in two write(2) calls, so the pump's reads and the log files
// often end inside a line: every line of the combined stream is one whole
// line of one program, with its prefix; both programs show up; stderr
// carries its own prefix.
func TestLogtailAll(t *testing.T) {
	dir := t.TempDir()
	prog := func(name, text string) string {
		return "[program:" + name + "]\ncommand = /bin/sh -c 'i=0; while [ $i -lt 3000 ]; do printf " + text[:4] + "; printf \"" + text[4:] + " $i\\n\"; i=$((i+1)); done; echo oops >&2; exec sleep 600'\n" +
			"startsecs = 0\nstdout_logfile = " + filepath.Join(dir, name+".log") + "\nstderr_logfile = " + filepath.Join(dir, name+".err") + "\n\n"
	}
	f := start(t, prog("p1", "aaaabbbb")+prog("p2", "ccccdddd")+
		"[program:p3]\ncommand = /bin/sh -c 'echo hello; exec sleep 600'\nautostart = false\nstartsecs = 0\nstdout_logfile = "+filepath.Join(dir, "p3.log")+"\n\n")
	f.waitLine(`'p1' stdout output:`)
	f.waitLine(`'p2' stdout output:`)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := &lineSink{more: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() { done <- f.client.Stream(ctx, "/logtail/all", got) }()
	re := regexp.MustCompile(`^(p1 \| aaaabbbb \d+|p2 \| ccccdddd \d+|p1 \(stderr\) \| oops|p2 \(stderr\) \| oops|p3 \| hello)$`)
	last := map[string]int{}
	started := false
	for seen := 0; ; {
		lines := got.lines()
		for _, l := range lines[seen:] {
			if !re.MatchString(l) {
				t.Fatalf("line %q is not one whole line of one program", l)
			}
			switch {
			case strings.HasSuffix(l, " 2999"):
				last[l[:2]+" end"] = 1
			case strings.HasSuffix(l, "| oops"):
				last[l[:2]+" oops"] = 1
			case l == "p3 | hello":
				last["p3"] = 1
			}
		}
		seen = len(lines)
		if len(last) == 4 && !started {
			// A program started after the stream began is followed too.
			started = true
			f.call("supervisor.startProcess", "p3", true)
		}
		if len(last) == 5 {
			break
		}
		select {
		case <-got.more:
		case err := <-done:
			t.Fatalf("stream ended: %v; saw %v", err, last)
		case <-ctx.Done():
			t.Fatalf("not every program's last lines within 30s: %v (%d lines)", last, seen)
		}
	}
	cancel()
	<-done
	// The CLI: drover tail -f all prints the same stream.
	cmd := exec.Command(droverBin, "tail", "-s", "unix://"+f.sock, "-f", "all", "stderr")
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	sc := bufio.NewScanner(out)
	var cli []string
	for len(cli) < 3 && sc.Scan() {
		cli = append(cli, sc.Text())
	}
	if len(cli) != 3 || cli[0] != "==> Press Ctrl-C to exit <==" || !slices.Contains(cli, "p1 | oops") || !slices.Contains(cli, "p2 | oops") {
		t.Fatalf("drover tail -f all stderr: %q", cli)
	}
}

// lineSink collects a stream's output and says when more came.
type lineSink struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	more chan struct{}
}

func (s *lineSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.buf.Write(p)
	s.mu.Unlock()
	select {
	case s.more <- struct{}{}:
	default:
	}
	return len(p), nil
}

// lines are the complete lines so far.
func (s *lineSink) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	text := s.buf.String()
	if i := strings.LastIndexByte(text, '\n'); i >= 0 {
		return strings.Split(text[:i], "\n")
	}
	return nil
}
