package logfile

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"testing/synctest"
	"time"
)

// files reads path and its backups: base first, then .1, .2 ….
func files(t *testing.T, path string, backups int) []string {
	t.Helper()
	var out []string
	for i := 0; i <= backups; i++ {
		name := path
		if i > 0 {
			name += "." + strconv.Itoa(i)
		}
		b, err := os.ReadFile(name)
		if os.IsNotExist(err) {
			out = append(out, "-")
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

func wantFiles(t *testing.T, path string, backups int, want ...string) {
	t.Helper()
	got := files(t, path, backups)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("files %q, want %q", got, want)
		}
	}
}

// Rotate on demand: supervisord's naming, backups bounded; an empty file
// is not rotated (no empty backups); a line the last write left open is
// finished in the file it started in.
func TestRotateNow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	w, err := OpenWriter(path, 0, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Write([]byte("one\n"))
	if err := w.Rotate(); err != nil {
		t.Fatal(err)
	}
	wantFiles(t, path, 2, "", "one\n", "-")
	if err := w.Rotate(); err != nil { // empty: nothing to do
		t.Fatal(err)
	}
	wantFiles(t, path, 2, "", "one\n", "-")
	w.Write([]byte("two\n"))
	w.Rotate()
	w.Write([]byte("three\n"))
	w.Rotate()
	wantFiles(t, path, 2, "", "three\n", "two\n")
	// Mid-line: the rotation waits for the line's end.
	w.Write([]byte("fo"))
	w.Rotate()
	wantFiles(t, path, 2, "fo", "three\n", "two\n")
	w.Write([]byte("ur\n"))
	w.Write([]byte("five\n"))
	wantFiles(t, path, 2, "five\n", "four\n", "three\n")
}

// Files.Rotate of a file no process writes to now opens it, rotates it and
// closes it again.
func TestFilesRotateClosed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := NewFiles(nil)
	if err := f.Rotate(path, 3); err != nil {
		t.Fatal(err)
	}
	wantFiles(t, path, 1, "", "old\n")
	if err := f.Rotate(filepath.Join(t.TempDir(), "missing.log"), 3); err != nil {
		t.Fatal(err)
	}
	w, _ := f.Acquire(path, 0, 3)
	w.Write([]byte("new\n"))
	if err := f.Rotate(path, 3); err != nil {
		t.Fatal(err)
	}
	f.Release(path)
	wantFiles(t, path, 2, "", "new\n", "old\n")
}

// Hourly: the file rotates when each hour begins, by one timer for the
// next boundary; an hour without output leaves no empty backup; maxBytes
// still applies in between.
func TestRotateHourly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "x.log")
		w, err := OpenWriter(path, 10, 5, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		start := time.Now()
		w.RotateEvery(Hourly)
		w.Write([]byte("a\n"))
		next := Hourly.next(start)
		time.Sleep(next.Sub(start) - time.Millisecond)
		synctest.Wait()
		wantFiles(t, path, 1, "a\n", "-")
		time.Sleep(time.Millisecond)
		synctest.Wait()
		wantFiles(t, path, 1, "", "a\n")
		// An idle hour: nothing to rotate.
		time.Sleep(time.Hour)
		synctest.Wait()
		wantFiles(t, path, 2, "", "a\n", "-")
		w.Write([]byte("bbbbbbbbbbbb\n")) // over maxBytes: rotated at once
		wantFiles(t, path, 2, "", "bbbbbbbbbbbb\n", "a\n")
		w.Write([]byte("c\n"))
		time.Sleep(time.Hour)
		synctest.Wait()
		wantFiles(t, path, 3, "", "c\n", "bbbbbbbbbbbb\n", "a\n")
		if got := time.Since(start); got != 3*time.Hour-start.Sub(Hourly.start(start)) {
			t.Fatalf("fake clock at %v", got)
		}
	})
}

// Daily: a file last written before today began is rotated when the
// Writer starts its period (a program stopped over midnight); the next
// rotation is at the next midnight.
func TestRotateDailyStaleFile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "x.log")
		if err := os.WriteFile(path, []byte("yesterday\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		old := Daily.start(now).Add(-time.Hour)
		if err := os.Chtimes(path, old, old); err != nil {
			t.Fatal(err)
		}
		w, err := OpenWriter(path, 0, 3, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		w.RotateEvery(Daily)
		wantFiles(t, path, 1, "", "yesterday\n")
		w.Write([]byte("today\n"))
		time.Sleep(Daily.next(now).Sub(now))
		synctest.Wait()
		wantFiles(t, path, 2, "", "today\n", "yesterday\n")
		w.RotateEvery(Daily) // the same period: nothing changes
		wantFiles(t, path, 2, "", "today\n", "yesterday\n")
	})
}
