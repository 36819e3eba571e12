package logfile

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
)

// consoleFeed runs chunks through one pipe's processing with a Console
// sink and returns what the console received, one string per Write.
func consoleFeed(sink Sink, chunks ...string) []string {
	var writes []string
	sink.Console = writerFunc(func(p []byte) (int, error) {
		writes = append(writes, string(p))
		return len(p), nil
	})
	ps := &pipeState{}
	ps.sink = &sink
	for i, c := range chunks {
		data := append(ps.carry[:ps.carryLen:ps.carryLen], c...)
		ps.consume(data, i == len(chunks)-1)
	}
	return writes
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Partial lines wait for their end, several lines of one read go out in
// one Write, bytes that are not UTF-8 pass unchanged, and the unfinished
// last line is ended at EOF.
func TestConsoleLines(t *testing.T) {
	got := consoleFeed(Sink{ConsolePrefix: "web | "}, "ab", "c\nd\xff", "e\nf\ng", "", "tail")
	want := []string{"web | abc\n", "web | d\xffe\nweb | f\n", "web | gtail\n"}
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// ANSI stripping applies before the console, and capture-mode output never
// reaches it.
func TestConsoleAfterStripAndCapture(t *testing.T) {
	got := consoleFeed(Sink{ConsolePrefix: "[x] ", StripANSI: true, CaptureMaxBytes: 100},
		"\x1b[31mred\x1b[0m\n<!--XSUPER", "VISOR:BEGIN-->secret\n<!--XSUPERVISOR:END-->after\n")
	if want := []string{"[x] red\n", "[x] after\n"}; fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// An unfinished line held past maxConsoleLine goes out in pieces, each a
// line with the prefix, and nothing is lost; a long line read whole goes
// out whole.
func TestConsoleLongLine(t *testing.T) {
	long := strings.Repeat("y", 2*maxConsoleLine+10)
	got := strings.Join(consoleFeed(Sink{ConsolePrefix: "p "}, long[:5000], long[5000:], "\n"), "")
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 3 || lines[0] != "p "+long[:maxConsoleLine] || lines[2] != "p "+long[2*maxConsoleLine:] {
		t.Fatalf("%d lines of %d, %d, ...", len(lines), len(lines[0]), len(lines[len(lines)-1]))
	}
	if got := consoleFeed(Sink{ConsolePrefix: "p "}, long+"\n"); len(got) != 1 || got[0] != "p "+long+"\n" {
		t.Fatalf("a long line read whole was split: %d writes", len(got))
	}
}

// Two real producers flood one Console through the Pump: every console
// line is one whole line of one program behind its own prefix (no halves
// of two lines glued together), and none is missing or doubled.
func TestConsoleTwoProgramsLineSafe(t *testing.T) {
	var out syncBuf
	con := NewConsole(&out, &out)
	p := newTestPump(t, testLogger(t))
	const n, size = 3000, 300
	var closed []chan struct{}
	for _, name := range []string{"a", "b"} {
		r, _ := startHelper(t, "lines", n, size)
		c := make(chan struct{})
		closed = append(closed, c)
		if _, err := p.Add(r, Sink{Console: con.Stdout(), ConsolePrefix: name + ":" + name + "_0 | ", OnClosed: func() { close(c) }}); err != nil {
			t.Fatal(err)
		}
	}
	// The main log's echo shares the console's lock.
	for range 100 {
		fmt.Fprintf(con.Stdout(), "main log line\n")
	}
	for _, c := range closed {
		waitClosed(t, c)
	}
	body := strings.Repeat("x", size-1)
	counts := map[string]int{}
	for l := range strings.SplitSeq(strings.TrimSuffix(out.String(), "\n"), "\n") {
		prefix, rest, ok := strings.Cut(l, " | ")
		switch {
		case l == "main log line":
			counts["main"]++
		case ok && rest == body:
			counts[prefix]++
		default:
			t.Fatalf("a torn or glued line (%d bytes): %.80q", len(l), l)
		}
	}
	if counts["a:a_0"] != n || counts["b:b_0"] != n || counts["main"] != 100 {
		t.Fatalf("line counts %v, want %d each and 100 main", counts, n)
	}
}

// The console writes nothing and holds nothing when it is off.
func TestConsoleOffHoldsNothing(t *testing.T) {
	ps := &pipeState{}
	sink := Sink{Log: &bytes.Buffer{}}
	ps.sink = &sink
	ps.consume([]byte("partial"), false)
	if ps.conLine != nil {
		t.Fatal("a partial line was held with no console")
	}
}

// BenchmarkConsumeLinesConsole is BenchmarkConsumeLines with the console
// on: what stdout_console costs per byte.
func BenchmarkConsumeLinesConsole(b *testing.B) {
	benchConsume(b, Sink{Log: io.Discard, Console: io.Discard, ConsolePrefix: "web:web_0 | "})
}

// A Writer on the console's own file (the main log as /dev/stdout) writes
// under the console's lock: on a pipe, where a write above PIPE_BUF is
// not atomic, its lines never land inside a batch of console lines.
func TestConsoleSerializesWriterOnSamePipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	con := NewConsole(w, w)
	lw, err := OpenWriter(fmt.Sprintf("/proc/self/fd/%d", w.Fd()), 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	lw.Serialize(con.Locker())
	var got bytes.Buffer
	read := make(chan struct{})
	go func() { io.Copy(&got, r); close(read) }()

	consoleLine := strings.Repeat("c", 999) + "\n"
	batch := []byte(strings.Repeat(consoleLine, 64)) // 64 KB per write
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for range 100 {
			con.Stdout().Write(batch)
		}
	}()
	go func() {
		defer wg.Done()
		for i := range 5000 {
			fmt.Fprintf(lw, "main log line %d\n", i)
		}
	}()
	wg.Wait()
	lw.Close()
	w.Close()
	<-read
	var c, m int
	for l := range strings.SplitSeq(strings.TrimSuffix(got.String(), "\n"), "\n") {
		switch {
		case l == consoleLine[:999]:
			c++
		case strings.HasPrefix(l, "main log line ") && strings.Trim(l[len("main log line "):], "0123456789") == "":
			m++
		default:
			t.Fatalf("a line mixed from two writers: %.60q... (%d bytes)", l, len(l))
		}
	}
	if c != 6400 || m != 5000 {
		t.Fatalf("%d console lines, %d main lines; want 6400 and 5000", c, m)
	}
}
