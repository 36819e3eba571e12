package logfile

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

func mustOpen(t *testing.T, path string, maxBytes int64, backups int) *Writer {
	t.Helper()
	w, err := OpenWriter(path, maxBytes, backups, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

func write(t *testing.T, w *Writer, s string) {
	t.Helper()
	if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
}

func fileIs(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if string(b) != want {
		t.Fatalf("%s = %q, want %q", filepath.Base(path), b, want)
	}
}

func absent(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("%s exists (err %v)", filepath.Base(path), err)
	}
}

// TestRotationBackups: writes of 4 bytes with maxbytes 10 rotate after
// every third write (12 >= 10); the newest backup is .1, at most `backups`
// numbered files exist, and backups=0 truncates.
func TestRotationBackups(t *testing.T) {
	for _, backups := range []int{0, 1, 3} {
		t.Run("backups="+strconv.Itoa(backups), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p.log")
			w := mustOpen(t, path, 10, backups)
			// 5 rotations' worth (a..o), then one more write.
			for c := 'a'; c <= 'o'; c++ {
				write(t, w, strings.Repeat(string(c), 3)+"\n")
			}
			write(t, w, "zz\n")
			fileIs(t, path, "zz\n")
			groups := []string{"mmm\nnnn\nooo\n", "jjj\nkkk\nlll\n", "ggg\nhhh\niii\n", "ddd\neee\nfff\n"}
			for i := 1; i <= backups; i++ {
				fileIs(t, path+"."+strconv.Itoa(i), groups[i-1])
			}
			absent(t, path+"."+strconv.Itoa(backups+1))
		})
	}
}

// TestOneWriteMayExceedMaxBytes: a write is never split; the file exceeds
// maxbytes by that write and is rotated after it.
func TestOneWriteMayExceedMaxBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.log")
	w := mustOpen(t, path, 10, 2)
	write(t, w, "12345")
	big := strings.Repeat("B", 25)
	write(t, w, big)
	fileIs(t, path+".1", "12345"+big)
	fileIs(t, path, "")
}

// TestRotationWaitsForLineEnd: a write ending mid-line postpones the
// rotation to the write that ends the line, within lineSlack.
func TestRotationWaitsForLineEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.log")
	w := mustOpen(t, path, 10, 2)
	write(t, w, "0123456789ab") // >= 10 but mid-line
	write(t, w, "cd\n")
	write(t, w, "next")
	fileIs(t, path+".1", "0123456789abcd\n")
	fileIs(t, path, "next")
	write(t, w, "123456789012345") // 19 < 10+min(10, slack): waits
	absent(t, path+".2")
	write(t, w, "6") // 20: rotates without a line end
	fileIs(t, path+".1", "next1234567890123456")
}

// TestNoRotationMaxBytes0: maxbytes=0 never rotates.
func TestNoRotationMaxBytes0(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.log")
	w := mustOpen(t, path, 0, 3)
	for range 100 {
		write(t, w, "0123456789")
	}
	b, _ := os.ReadFile(path)
	if len(b) != 1000 {
		t.Fatalf("size %d", len(b))
	}
	absent(t, path+".1")
}

// TestAppendsToExisting: opening appends and counts the existing size.
func TestAppendsToExisting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.log")
	if err := os.WriteFile(path, []byte("old-content\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := mustOpen(t, path, 15, 1)
	write(t, w, "new\n") // 16 >= 15: rotates
	fileIs(t, path+".1", "old-content\nnew\n")
	fileIs(t, path, "")
}

// TestNonRegularNeverRotates: a fifo target (like /dev/stdout in a
// container) is written with maxbytes set but never rotated, truncated or
// removed, and Clear/Reopen do not fail on it.
func TestNonRegularNeverRotates(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// A reader keeps the fifo open (O_RDWR so opening does not block).
	rfd, err := unix.Open(fifo, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(rfd)
	var got bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 4096)
		for got.Len() < 300 {
			n, err := unix.Read(rfd, buf)
			if err != nil {
				return
			}
			got.Write(buf[:n])
		}
	}()
	w := mustOpen(t, fifo, 10, 3)
	for range 20 {
		write(t, w, "0123456789")
	}
	if err := w.Clear(); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	if err := w.Reopen(); err != nil {
		t.Fatalf("Reopen: %v", err)
	}
	for range 10 {
		write(t, w, "abcdefghij")
	}
	wg.Wait()
	if got.Len() != 300 || w.Dropped() != 0 {
		t.Fatalf("read %d bytes, dropped %d", got.Len(), w.Dropped())
	}
	var st unix.Stat_t
	if err := unix.Stat(fifo, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		t.Fatalf("fifo gone or replaced: %v", err)
	}
	absent(t, fifo+".1")
}

// TestReopenAfterMove: like logrotate, the file is renamed away; writes go
// on into the moved file until Reopen creates a new one.
func TestReopenAfterMove(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.log")
	w := mustOpen(t, path, 0, 0)
	write(t, w, "before\n")
	if err := os.Rename(path, path+".moved"); err != nil {
		t.Fatal(err)
	}
	write(t, w, "still old fd\n")
	if err := w.Reopen(); err != nil {
		t.Fatal(err)
	}
	write(t, w, "after\n")
	fileIs(t, path+".moved", "before\nstill old fd\n")
	fileIs(t, path, "after\n")
}

// TestRotationAfterExternalTruncate: a copytruncate leaves the tracked size
// stale; the Writer checks the real size before rotating.
func TestRotationAfterExternalTruncate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.log")
	w := mustOpen(t, path, 20, 1)
	write(t, w, "0123456789")
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	write(t, w, "abcdefghij") // tracked 20, real 10: no rotation
	absent(t, path+".1")
	fileIs(t, path, "abcdefghij")
}

// TestClear deletes the base (backups stay) and starts a new one.
func TestClear(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.log")
	w := mustOpen(t, path, 10, 2)
	write(t, w, "012345678\n") // rotated to .1
	write(t, w, "abc")
	if err := w.Clear(); err != nil {
		t.Fatal(err)
	}
	fileIs(t, path, "")
	fileIs(t, path+".1", "012345678\n")
	write(t, w, "new")
	fileIs(t, path, "new")
	// Clear when someone already deleted the file is fine too.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := w.Clear(); err != nil {
		t.Fatal(err)
	}
	fileIs(t, path, "")
}

// TestOpenErrors: a missing directory is an error at open, and after Close
// writes are dropped, counted, never failing.
func TestOpenErrors(t *testing.T) {
	if _, err := OpenWriter(filepath.Join(t.TempDir(), "no", "such", "dir.log"), 0, 0, nil); err == nil {
		t.Fatal("open in a missing directory succeeded")
	}
	path := filepath.Join(t.TempDir(), "p.log")
	var logs bytes.Buffer
	w, err := OpenWriter(path, 0, 0, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	write(t, w, "lost")
	write(t, w, "lost")
	if w.Dropped() != 8 || strings.Count(logs.String(), "level=ERROR") != 1 {
		t.Fatalf("dropped %d, logs %q", w.Dropped(), logs.String())
	}
}

// TestRotationFailureKeepsWriting: when the backup cannot be created the
// Writer keeps appending to the base file and reports once.
func TestRotationFailureKeepsWriting(t *testing.T) {
	// A non-empty directory named like the backup cannot be removed, even
	// by root (which ignores permissions).
	dir := t.TempDir()
	path := filepath.Join(dir, "p.log")
	if err := os.MkdirAll(filepath.Join(path+".1", "keep"), 0o755); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	w, err := OpenWriter(path, 5, 1, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	write(t, w, "12345\n")
	write(t, w, "789\n")
	fileIs(t, path, "12345\n789\n")
	if n := strings.Count(logs.String(), "rotation failed"); n != 1 {
		t.Fatalf("%d reports: %q", n, logs.String())
	}
	if w.Dropped() != 0 {
		t.Fatalf("dropped %d", w.Dropped())
	}
}

// TestFifoWithoutReader: opening a fifo nobody reads fails at once
// instead of hanging the daemon.
func TestFifoWithoutReader(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenWriter(fifo, 0, 0, nil); !errors.Is(err, unix.ENXIO) {
		t.Fatalf("err = %v, want ENXIO", err)
	}
}

// TestStdoutTarget: /dev/stdout is the daemon's own fd 1, duplicated, even
// when fd 1 is a regular file; it is never rotated or removed. The test
// runs in a child so that fd 1 can be a file of the test's choosing.
func TestStdoutTarget(t *testing.T) {
	if os.Getenv("LOGFILE_STDOUT_CHILD") == "1" {
		w, err := OpenWriter("/dev/stdout", 10, 2, nil)
		if err != nil {
			os.Exit(3)
		}
		for range 5 {
			_, _ = w.Write([]byte("0123456789"))
		}
		if w.Clear() != nil || w.Reopen() != nil {
			os.Exit(4)
		}
		_, _ = w.Write([]byte("end\n"))
		os.Exit(0)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "stdout.txt")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestStdoutTarget$")
	cmd.Env = append(os.Environ(), "LOGFILE_STDOUT_CHILD=1")
	cmd.Stdout = f
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v", err)
	}
	fileIs(t, out, strings.Repeat("0123456789", 5)+"end\n")
	if _, err := os.Lstat("/dev/stdout.1"); err == nil {
		t.Fatal("/dev/stdout.1 created")
	}
	if _, err := os.Lstat("/dev/stdout"); err != nil {
		t.Fatalf("/dev/stdout removed: %v", err)
	}
}
