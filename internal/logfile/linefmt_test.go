package logfile

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const layoutMS = "2006-01-02T15:04:05.000Z07:00"

// Timestamps: every line starts with the time, a line split between reads
// gets one prefix, not two; the bytes after the prefixes are the input.
func TestTimestampsSplitEverywhere(t *testing.T) {
	in := "one\ntwo two\n\nthree"
	re := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d) `)
	for i := 0; i <= len(in); i++ {
		r, s := newRecorder(t, 0, false)
		s.Format = &LineFormat{Layout: layoutMS}
		feed(s, in[:i], in[i:])
		got := r.file(t)
		lines := strings.SplitAfter(got, "\n")
		var rest strings.Builder
		for _, l := range lines {
			loc := re.FindStringIndex(l)
			if loc == nil {
				t.Fatalf("split at %d: line %q has no time prefix in %q", i, l, got)
			}
			rest.WriteString(l[loc[1]:])
		}
		if rest.String() != in || len(lines) != 4 {
			t.Fatalf("split at %d: %q", i, got)
		}
	}
}

// jsonLog is one line of a JSON log.
type jsonLog struct {
	Time    any    `json:"time"`
	Process string `json:"process"`
	Stream  string `json:"stream"`
	Message string `json:"message"`
	Partial bool   `json:"partial"`
}

func parseJSONLog(t *testing.T, text string) []jsonLog {
	t.Helper()
	var out []jsonLog
	for l := range strings.SplitSeq(strings.TrimSuffix(text, "\n"), "\n") {
		var j jsonLog
		dec := json.NewDecoder(strings.NewReader(l))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&j); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		out = append(out, j)
	}
	return out
}

// JSON lines: one object per line wherever the reads split it, CRLF
// ends dropped, quotes, control characters and invalid UTF-8 escaped the
// way encoding/json reads them back; an unfinished last line is written
// at EOF, marked partial.
func TestJSONLinesSplitEverywhere(t *testing.T) {
	in := "plain\r\n\"quoted\" \\ tab\there\nbad \xff\xfe utf8 é \u2028 \x01\nlast"
	want := []jsonLog{
		{Process: "web", Stream: "stdout", Message: "plain"},
		{Process: "web", Stream: "stdout", Message: "\"quoted\" \\ tab\there"},
		{Process: "web", Stream: "stdout", Message: "bad \ufffd\ufffd utf8 é \u2028 \x01"},
		{Process: "web", Stream: "stdout", Message: "last", Partial: true},
	}
	for i := 0; i <= len(in); i++ {
		r, s := newRecorder(t, 0, false)
		s.Name = "web"
		s.Format = &LineFormat{JSON: true, Layout: layoutMS, Stream: "stdout"}
		feed(s, in[:i], in[i:])
		got := parseJSONLog(t, r.file(t))
		if len(got) != len(want) {
			t.Fatalf("split at %d: %+v", i, got)
		}
		for k := range want {
			ts, _ := got[k].Time.(string)
			if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
				t.Fatalf("split at %d: time %v: %v", i, got[k].Time, err)
			}
			got[k].Time = nil
			if got[k] != want[k] {
				t.Fatalf("split at %d, line %d: %+v, want %+v", i, k, got[k], want[k])
			}
		}
	}
}

// appendJSONString reads back, through encoding/json, as what json.Marshal
// makes of the same bytes.
func TestAppendJSONStringLikeEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "a", "\x00\x1f\x7f", "\xc3", "\xc3\xa9\xe2\x82", "<&>", "\u2029x", "\xed\xa0\x80", strings.Repeat("é\xff", 50)} {
		var mine, theirs string
		if err := json.Unmarshal(appendJSONString(nil, []byte(s)), &mine); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		ref, _ := json.Marshal(s)
		_ = json.Unmarshal(ref, &theirs)
		if mine != theirs {
			t.Fatalf("%q: %q, encoding/json %q", s, mine, theirs)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add([]byte("x\xff\n\"\u2028"))
	f.Fuzz(func(t *testing.T, s []byte) {
		var mine, theirs string
		if err := json.Unmarshal(appendJSONString(nil, s), &mine); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		ref, _ := json.Marshal(string(s))
		_ = json.Unmarshal(ref, &theirs)
		if mine != theirs {
			t.Fatalf("%q: %q, encoding/json %q", s, mine, theirs)
		}
	})
}

// A line longer than maxPartial is written in pieces marked partial; no
// byte is lost.
func TestJSONLongLine(t *testing.T) {
	r, s := newRecorder(t, 0, false)
	s.Format = &LineFormat{JSON: true, Unix: true, Stream: "stderr"}
	long := strings.Repeat("y", maxPartial+10)
	feed(s, long[:maxPartial/2], long[maxPartial/2:]+"\nend\n")
	got := parseJSONLog(t, r.file(t))
	var all strings.Builder
	for i, j := range got[:len(got)-1] {
		if _, ok := j.Time.(float64); !ok {
			t.Fatalf("unix time %v", j.Time)
		}
		if j.Partial != (i < len(got)-2) {
			t.Fatalf("piece %d partial %v", i, j.Partial)
		}
		all.WriteString(j.Message)
	}
	if all.String() != long || got[len(got)-1].Message != "end" {
		t.Fatalf("%d pieces, %d bytes", len(got), all.Len())
	}
}

// Through the Pump with a real child and rotation every 16 KiB: every
// number once, in order, one JSON object per line, no file starting or
// ending inside one; then the same with time prefixes.
func TestPumpFormatsAcrossRotation(t *testing.T) {
	for _, f := range []*LineFormat{{JSON: true, Layout: layoutMS, Stream: "stdout"}, {Unix: true}} {
		const lines, width, backups = 20000, 7, 200
		path := filepath.Join(t.TempDir(), "out.log")
		w, err := OpenWriter(path, 16<<10, backups, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		p := newTestPump(t, testLogger(t))
		r, cmd := startHelper(t, "numbers", lines, width)
		closed := make(chan struct{})
		if _, err := p.Add(r, Sink{Name: "numbers", Log: w, Format: f, OnClosed: func() { close(closed) }}); err != nil {
			t.Fatal(err)
		}
		waitClosed(t, closed)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("producer: %v", err)
		}
		_ = w.Close()
		if _, err := os.Stat(path + "." + strconv.Itoa(backups)); err == nil {
			t.Fatal("backups exhausted")
		}
		for i := 1; ; i++ {
			b, err := os.ReadFile(path + "." + strconv.Itoa(i))
			if err != nil {
				if i < 3 {
					t.Fatalf(".%d: %v", i, err)
				}
				break
			}
			if b[len(b)-1] != '\n' || (f.JSON && b[0] != '{') {
				t.Fatalf(".%d starts or ends inside a line", i)
			}
		}
		sc := bufio.NewScanner(bytes.NewReader(readRotated(t, path, backups)))
		n := 0
		for ; sc.Scan(); n++ {
			want := fmt.Sprintf("%0*d", width, n)
			line := sc.Text()
			if f.JSON {
				var j jsonLog
				if err := json.Unmarshal([]byte(line), &j); err != nil || j.Message != want || j.Process != "numbers" || j.Partial {
					t.Fatalf("line %d: %q (%v)", n, line, err)
				}
			} else if ts, msg, ok := strings.Cut(line, " "); !ok || msg != want || !regexp.MustCompile(`^\d{10}\.\d{3}$`).MatchString(ts) {
				t.Fatalf("line %d: %q", n, line)
			}
		}
		if n != lines {
			t.Fatalf("%d lines, want %d", n, lines)
		}
	}
}

// needsEscape8 finds every byte that needs an escape in any position, and
// reports nothing for plain bytes.
func TestNeedsEscape8(t *testing.T) {
	for c := range 256 {
		want := c < 0x20 || c == '"' || c == '\\' || c >= 0x80
		for pos := range 8 {
			for _, fill := range []byte{'a', ' ', '~', '!', '#', '[', ']'} {
				w := bytes.Repeat([]byte{fill}, 8)
				w[pos] = byte(c)
				if got := needsEscape8(binary.LittleEndian.Uint64(w)); got != want {
					t.Fatalf("byte %#x at %d among %q: %v", c, pos, fill, got)
				}
			}
		}
	}
}
