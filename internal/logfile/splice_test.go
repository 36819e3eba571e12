package logfile

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// spliced returns the bytes w moved with splice(2).
func spliced(w *Writer) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.spliced
}

// TestSpliceNumberedLinesThroughRotations: a real child writes 480,000
// numbered lines (3.84 MB) in 64,000-byte writes into a plain log rotating
// at 1 MB: most bytes go by splice (which stops 128 KiB short of maxbytes,
// inside a line), the file rotates at least 3 times, each rotated file
// holds at least maxbytes and ends a line (no torn line), and every line
// is there once, in order.
func TestSpliceNumberedLinesThroughRotations(t *testing.T) {
	const lines, width, maxBytes, backups = 480000, 7, 1 << 20, 6
	path := filepath.Join(t.TempDir(), "out.log")
	w, err := OpenWriter(path, maxBytes, backups, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	p := newTestPump(t, testLogger(t))
	r, cmd := startHelper(t, "chunks", lines, width)
	closed := make(chan struct{})
	if _, err := p.Add(r, Sink{Name: "chunks", Log: w, OnClosed: func() { close(closed) }}); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, closed)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("producer: %v", err)
	}
	total := int64(lines * (width + 1))
	if s := spliced(w); s < total/2 {
		t.Fatalf("only %d of %d bytes went by splice", s, total)
	}
	rotations := checkRotations(t, path, backups, maxBytes, 3)
	all := readRotated(t, path, backups)
	if int64(len(all)) != total {
		t.Fatalf("got %d bytes, want %d", len(all), total)
	}
	for i := range lines {
		line := all[i*(width+1) : (i+1)*(width+1)]
		if want := fmt.Sprintf("%0*d\n", width, i); string(line) != want {
			t.Fatalf("line %d: got %q want %q", i, line, want)
		}
	}
	t.Logf("%d bytes, %d by splice, %d rotations", total, spliced(w), rotations)
}

// TestSpliceSeenByReaders: a follower subscribed to the Writer (what
// `tail -f` and /logtail do) is woken by spliced output and reads every
// byte of it from where it was, and Tail sees the file's end.
func TestSpliceSeenByReaders(t *testing.T) {
	const writes, size = 64, 64 << 10
	path := filepath.Join(t.TempDir(), "out.log")
	w, err := OpenWriter(path, 0, 0, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ch, cancel := w.Subscribe()
	defer cancel()
	p := newTestPump(t, testLogger(t))
	r, cmd := startHelper(t, "bulk", writes, size)
	closed := make(chan struct{})
	if _, err := p.Add(r, Sink{Name: "bulk", Log: w, OnClosed: func() { close(closed) }}); err != nil {
		t.Fatal(err)
	}
	var seen []byte
	var off int64
	deadline := time.After(30 * time.Second)
	for int64(len(seen)) < writes*size {
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("follower saw %d of %d bytes", len(seen), writes*size)
		}
		data, err := Read(path, off, 0)
		if err != nil {
			t.Fatalf("read at %d: %v", off, err)
		}
		seen, off = append(seen, data...), off+int64(len(data))
	}
	waitClosed(t, closed)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("producer: %v", err)
	}
	if s := spliced(w); s == 0 {
		t.Fatal("nothing went by splice")
	}
	line := append(bytes.Repeat([]byte{'x'}, size-1), '\n')
	if want := bytes.Repeat(line, writes); !bytes.Equal(seen, want) {
		t.Fatalf("follower read %d bytes, not the %d written", len(seen), len(want))
	}
	last, end, _, err := Tail(path, 0, 100)
	if err != nil || end != writes*size || !bytes.Equal(last, line[size-100:]) {
		t.Fatalf("Tail: end %d, %q, %v", end, last, err)
	}
}

// TestSpliceNotWhenBytesNeeded: a sink that transforms or inspects the
// output (strip_ansi, OnLog, a console copy) never splices, and its output is
// processed as before.
func TestSpliceNotWhenBytesNeeded(t *testing.T) {
	for name, sink := range map[string]Sink{
		"strip_ansi": {StripANSI: true},
		"onlog":      {OnLog: func([]byte) {}},
		"console":    {Console: io.Discard, ConsolePrefix: "x | "},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.log")
			w, err := OpenWriter(path, 0, 0, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			p := newTestPump(t, testLogger(t))
			r, cmd := startHelper(t, "bulk", 16, 64<<10)
			closed := make(chan struct{})
			sink.Log, sink.OnClosed = w, func() { close(closed) }
			if _, err := p.Add(r, sink); err != nil {
				t.Fatal(err)
			}
			waitClosed(t, closed)
			_ = cmd.Wait()
			if s := spliced(w); s != 0 {
				t.Fatalf("%d bytes went by splice", s)
			}
			if fi, err := os.Stat(path); err != nil || fi.Size() != 16*64<<10 {
				t.Fatalf("log: %v %v", fi, err)
			}
		})
	}
}

// BenchmarkPumpBulkCopy is BenchmarkPumpBulk through read+write: an OnLog
// callback (which does nothing) makes the sink need the bytes, so the
// pump copies them as before splice. Compare the two in one run.
func BenchmarkPumpBulkCopy(b *testing.B) {
	b.SetBytes(64 << 10)
	benchPumpSink(b, "bulk", max(b.N, 1), 64<<10, Sink{OnLog: func([]byte) {}})
}

// TestSpliceTracksOpenLine: output spliced into the file that ends inside
// a line leaves the Writer knowing it (midLine), so the loss marker of a
// later outage starts on a line of its own, as after a Write.
func TestSpliceTracksOpenLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.log")
	w, pw, closed := pumpInto(t, path, 0)
	if _, err := pw.Write(append(bytes.Repeat([]byte("line\n"), 1000), "open"...)); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	waitClosed(t, closed)
	w.mu.Lock()
	mid, s := w.midLine, w.spliced
	w.mu.Unlock()
	if s != 5004 || !mid {
		t.Fatalf("spliced %d bytes (want 5004), midLine %v (want true)", s, mid)
	}
}

// TestOpenSeesOpenLine: a file that already ends inside a line (a daemon
// before this one was cut off mid-line) is known as such when opened, so a
// loss marker starts on a line of its own. The writer's descriptor is
// write-only, so the last byte must be read through another.
func TestOpenSeesOpenLine(t *testing.T) {
	for _, tc := range []struct {
		body string
		mid  bool
	}{{"", false}, {"done\n", false}, {"open", true}} {
		path := filepath.Join(t.TempDir(), "out.log")
		if err := os.WriteFile(path, []byte(tc.body), 0o644); err != nil {
			t.Fatal(err)
		}
		w, err := OpenWriter(path, 0, 0, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		w.mu.Lock()
		mid := w.midLine
		w.mu.Unlock()
		w.Close()
		if mid != tc.mid {
			t.Errorf("%q: midLine = %v, want %v", tc.body, mid, tc.mid)
		}
	}
}

// TestSpliceThenRotateMidLine: a rotation asked for while spliced output
// left a line open waits for that line's end, which must then go through
// Write (splice would add it behind the pending rotation's back and the
// rotation would never come), so the backup ends with the whole line.
func TestSpliceThenRotateMidLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.log")
	w, pw, closed := pumpInto(t, path, 2)
	head := append(bytes.Repeat([]byte("line\n"), 1000), "open"...)
	if _, err := pw.Write(head); err != nil {
		t.Fatal(err)
	}
	// Wait until the pump moved it all (the file's size), then rotate.
	changed, cancel := w.Subscribe()
	defer cancel()
	size := func() int64 { w.mu.Lock(); defer w.mu.Unlock(); return w.size }
	deadline := time.After(10 * time.Second)
	for size() < int64(len(head)) {
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("size %d, want %d", size(), len(head))
		}
	}
	if err := w.Rotate(); err != nil {
		t.Fatal(err)
	}
	if _, err := pw.Write([]byte(" end\nnext\n")); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	waitClosed(t, closed)
	backup, err := os.ReadFile(path + ".1")
	if err != nil {
		t.Fatal(err)
	}
	// The rotation follows the first write that ends a line: the read
	// that brought " end\n" brought "next\n" too.
	if want := string(head) + " end\nnext\n"; string(backup) != want {
		t.Errorf("backup ends %q, want it to end %q", tail(backup, 16), " open end\nnext\n")
	}
	if cur, _ := os.ReadFile(path); len(cur) != 0 {
		t.Errorf("new file = %q, want it empty", cur)
	}
}

func tail(b []byte, n int) []byte { return b[max(0, len(b)-n):] }

// pumpInto opens a Writer on path (no size rotation, backups kept) fed by
// a Pump from a pipe; the test writes to pw, and closed closes once the
// pump saw the pipe end.
func pumpInto(t *testing.T, path string, backups int) (*Writer, *os.File, chan struct{}) {
	t.Helper()
	w, err := OpenWriter(path, 0, backups, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	p := newTestPump(t, testLogger(t))
	r, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	if _, err := p.Add(r, Sink{Log: w, OnClosed: func() { close(closed) }}); err != nil {
		t.Fatal(err)
	}
	return w, pw, closed
}

// checkRotations checks the backups of path (.1 … .backups-1 used, the
// last free): at least want of them, each rotated after the write that
// crossed maxBytes and ended a line, so at most one read buffer and
// lineSlack past it, and ending in a newline. It returns how many.
func checkRotations(t *testing.T, path string, backups, maxBytes, want int) (rotations int) {
	t.Helper()
	if _, err := os.Stat(path + "." + strconv.Itoa(backups)); err == nil {
		t.Fatalf("backups %d exhausted: test would not see every line", backups)
	}
	for i := 1; i <= backups; i++ {
		b, err := os.ReadFile(path + "." + strconv.Itoa(i))
		if err != nil {
			break
		}
		rotations++
		if len(b) < maxBytes || len(b) >= maxBytes+readBufSize+lineSlack || b[len(b)-1] != '\n' {
			t.Fatalf(".%d: %d bytes, last byte %q: rotated off the boundary or mid-line", i, len(b), b[len(b)-1])
		}
	}
	if rotations < want {
		t.Fatalf("%d rotations, want at least %d", rotations, want)
	}
	return rotations
}
