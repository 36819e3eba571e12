package logfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// feed runs chunks through a pipeState the way the Pump does (carry copied
// in front of each read), then EOF.
func feed(s *Sink, chunks ...string) {
	ps := &pipeState{sink: s}
	buf := make([]byte, 0, 1024)
	for _, c := range chunks {
		buf = append(buf[:0], ps.carry[:ps.carryLen]...)
		buf = append(buf, c...)
		ps.consume(buf, false)
	}
	buf = append(buf[:0], ps.carry[:ps.carryLen]...)
	ps.consume(buf, true)
}

type recorder struct {
	captured []string
	events   bytes.Buffer
	w        *Writer
}

func newRecorder(t *testing.T, max int, strip bool) (*recorder, *Sink) {
	t.Helper()
	w, err := OpenWriter(filepath.Join(t.TempDir(), "x.log"), 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	r := &recorder{w: w}
	return r, &Sink{
		Log:             w,
		StripANSI:       strip,
		CaptureMaxBytes: max,
		OnLog:           func(b []byte) { r.events.Write(b) },
		OnCapture:       func(b []byte) { r.captured = append(r.captured, string(b)) },
	}
}

func (r *recorder) file(t *testing.T) string {
	b, err := os.ReadFile(r.w.Path())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCaptureTokensSplitEverywhere splits a stream with two captures at
// every pair of positions: the log, the captures and the PROCESS_LOG data
// must not depend on where reads end.
func TestCaptureTokensSplitEverywhere(t *testing.T) {
	in := "before<!--XSUPERVISOR:BEGIN-->one<!--XSUPERVISOR:END-->mid<!--XSUPERVISOR:BEGIN--><!--XSUPERVISOR:END-->after<!--X"
	for i := 0; i <= len(in); i++ {
		for j := i; j <= len(in); j += 7 {
			r, s := newRecorder(t, 100, false)
			feed(s, in[:i], in[i:j], in[j:])
			if got := r.file(t); got != "beforemidafter<!--X" {
				t.Fatalf("split %d,%d: log %q", i, j, got)
			}
			if strings.Join(r.captured, "|") != "one|" {
				t.Fatalf("split %d,%d: captured %q", i, j, r.captured)
			}
			if r.events.String() != "beforeonemidafter<!--X" {
				t.Fatalf("split %d,%d: events %q", i, j, r.events.String())
			}
		}
	}
}

// TestCaptureBounded keeps only the last CaptureMaxBytes bytes.
func TestCaptureBounded(t *testing.T) {
	r, s := newRecorder(t, 5, false)
	feed(s, "<!--XSUPERVISOR:BEGIN-->abc", "defg", "hi<!--XSUPERVISOR:END-->", "<!--XSUPERVISOR:BEGIN-->0123456789<!--XSUPERVISOR:END-->")
	if strings.Join(r.captured, "|") != "efghi|56789" {
		t.Fatalf("captured %q", r.captured)
	}
	if r.file(t) != "" {
		t.Fatalf("log %q", r.file(t))
	}
}

// TestNoCaptureWithoutMaxBytes: tokens are plain text when capture is off.
func TestNoCaptureWithoutMaxBytes(t *testing.T) {
	r, s := newRecorder(t, 0, false)
	feed(s, "a<!--XSUPERVISOR:BEGIN-->b")
	if r.file(t) != "a<!--XSUPERVISOR:BEGIN-->b" || r.captured != nil {
		t.Fatalf("log %q captured %q", r.file(t), r.captured)
	}
}

func TestStripANSI(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain", "plain"},
		{"\x1b[31mred\x1b[0m", "red"},
		{"a\x1b[1;32;40mb", "ab"},
		{"lone \x1b escape", "lone \x1b escape"},
		{"cursor\x1b[2Jhome\x1b[H", "cursorhome"},
		{"unterminated \x1b[12", "unterminated "},
		{"\x1b[K\x1b[K", ""},
		{"x\x1b", "x\x1b"}, // at EOF a lone ESC is kept
	}
	for _, c := range cases {
		for i := 0; i <= len(c.in); i++ {
			r, s := newRecorder(t, 0, true)
			feed(s, c.in[:i], c.in[i:])
			if got := r.file(t); got != c.want {
				t.Errorf("%q split at %d: got %q want %q", c.in, i, got, c.want)
			}
		}
	}
}

type lineRec struct{ lines []string }

func (l *lineRec) Write(p []byte) (int, error) {
	l.lines = append(l.lines, string(p))
	return len(p), nil
}

// TestSyslogLines: each line of a read becomes "<name> <line>".
func TestSyslogLines(t *testing.T) {
	var rec lineRec
	feed(&Sink{Name: "web", Syslog: &rec}, "one\ntwo\n\n", "three")
	want := []string{"web one", "web two", "web three"}
	if strings.Join(rec.lines, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q want %q", rec.lines, want)
	}
}

// TestPumpCaptureRealPipe: tokens split across real pipe reads.
func TestPumpCaptureRealPipe(t *testing.T) {
	p := newTestPump(t, testLogger(t))
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	rec, s := newRecorder(t, 100, false)
	got := make(chan string, 10)
	s.OnLog = func(b []byte) { got <- string(b) }
	caps := make(chan string, 1)
	s.OnCapture = func(b []byte) { caps <- string(b) }
	closed := make(chan struct{})
	s.OnClosed = func() { close(closed) }
	if _, err := p.Add(r, *s); err != nil {
		t.Fatal(err)
	}
	step := func(write, wantLog string) {
		t.Helper()
		if _, err := w.Write([]byte(write)); err != nil {
			t.Fatal(err)
		}
		select {
		case g := <-got:
			if g != wantLog {
				t.Fatalf("after %q: OnLog %q want %q", write, g, wantLog)
			}
		case <-closed:
			t.Fatal("closed early")
		}
	}
	step("abc<!--XSUPER", "abc")
	step("VISOR:BEGIN-->secret<!--XSUPERVISOR:E", "secret")
	step("ND-->after", "after")
	_ = w.Close()
	waitClosed(t, closed)
	if c := <-caps; c != "secret" {
		t.Fatalf("captured %q", c)
	}
	if rec.file(t) != "abcafter" {
		t.Fatalf("log %q", rec.file(t))
	}
}
