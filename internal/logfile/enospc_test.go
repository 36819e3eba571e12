package logfile

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/drover-sh/drover/internal/testenv"
	"golang.org/x/sys/unix"
)

// tinyFS mounts a 64 KiB tmpfs (root only) so a real write(2) fails with
// ENOSPC; the test is skipped where mounting is not allowed.
func tinyFS(t *testing.T) string {
	t.Helper()
	testenv.NeedRoot(t, "needs root to mount a tmpfs")
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("cannot mount tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestENOSPCDropAndResume: on a full disk writes are dropped and counted,
// the error is logged once, and after space is freed writing resumes and
// the number of dropped bytes is logged.
func TestENOSPCDropAndResume(t *testing.T) {
	dir := tinyFS(t)
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 32<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs syncBuf
	w, err := OpenWriter(filepath.Join(dir, "p.log"), 0, 0, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	chunk := bytes.Repeat([]byte("x"), 8<<10)
	for range 10 { // 80 KiB into ~32 KiB of room
		write(t, w, string(chunk))
	}
	dropped := w.Dropped()
	if dropped == 0 {
		t.Fatal("nothing dropped on a full disk")
	}
	st, _ := os.Stat(w.Path())
	if st.Size()+dropped != 80<<10 {
		t.Fatalf("written %d + dropped %d != %d", st.Size(), dropped, 80<<10)
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 || !strings.Contains(logs.String(), "no space left") {
		t.Fatalf("want one ENOSPC report, got %q", logs.String())
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	write(t, w, "back\n")
	if !strings.Contains(logs.String(), strconv.FormatInt(dropped, 10)+" bytes were dropped") {
		t.Fatalf("no resume report with %d: %q", dropped, logs.String())
	}
	b, _ := os.ReadFile(w.Path())
	if !bytes.HasSuffix(b, []byte("back\n")) {
		t.Fatal("write after recovery missing")
	}
}

// TestMainLogOnFullDisk: the main log over a full disk reports its own
// failure through itself, once, without deadlock or recursion.
func TestMainLogOnFullDisk(t *testing.T) {
	dir := tinyFS(t)
	var stdout syncBuf
	ml, err := OpenMainLog(MainLogConfig{Path: filepath.Join(dir, "main.log"), Stdout: &stdout})
	if err != nil {
		t.Fatal(err)
	}
	defer ml.File.Close()
	line := strings.Repeat("m", 1000)
	for range 100 { // 100 KB into 64 KiB
		ml.Logger.Info(line)
	}
	if ml.File.Dropped() == 0 {
		t.Fatal("nothing dropped")
	}
	if n := strings.Count(stdout.String(), "ERRO log file write failed"); n != 1 {
		t.Fatalf("%d failure reports on stdout", n)
	}
}

// TestPumpFullDiskProducerRunsOn: a child writing 200 KB into a 64 KiB
// file system runs to the end (its output is dropped, not blocked).
func TestPumpFullDiskProducerRunsOn(t *testing.T) {
	dir := tinyFS(t)
	var logs syncBuf
	w, err := OpenWriter(filepath.Join(dir, "child.log"), 0, 0, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	p := newTestPump(t, testLogger(t))
	r, cmd := startHelper(t, "lines", 2000, 100)
	closed := make(chan struct{})
	if _, err := p.Add(r, Sink{Log: w, OnClosed: func() { close(closed) }}); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, closed)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("producer: %v", err)
	}
	st, _ := os.Stat(w.Path())
	if w.Dropped() == 0 || st.Size()+w.Dropped() != 200000 {
		t.Fatalf("size %d + dropped %d != 200000", st.Size(), w.Dropped())
	}
	if strings.Count(logs.String(), "level=ERROR") != 1 {
		t.Fatalf("reports: %q", logs.String())
	}
}

// TestENOSPCTornLineIsMarked: the line a full disk cut in the middle is
// ended when writing works again, by a marker line that says how many bytes
// were lost, and the next output starts on a line of its own.
func TestENOSPCTornLineIsMarked(t *testing.T) {
	dir := tinyFS(t)
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 32<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := OpenWriter(filepath.Join(dir, "p.log"), 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	line := strings.Repeat("L", 999) + "\n" // 1000 bytes never end at a page boundary
	for range 80 {
		write(t, w, line)
	}
	dropped := w.Dropped()
	torn, _ := os.ReadFile(w.Path())
	if dropped == 0 || bytes.HasSuffix(torn, []byte("\n")) {
		t.Fatalf("want a line torn by the full disk: dropped %d, file ends %q", dropped, torn[max(0, len(torn)-5):])
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	write(t, w, "next\n")
	b, _ := os.ReadFile(w.Path())
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	marker := "[drover: " + strconv.FormatInt(dropped, 10) + " bytes lost: disk full]"
	n := len(lines)
	if n < 3 || lines[n-1] != "next" || lines[n-2] != marker {
		var tail []string
		for _, l := range lines[max(0, n-3):] {
			tail = append(tail, l[max(0, len(l)-50):])
		}
		t.Fatalf("last lines end %q, want the torn line, %q, \"next\"", tail, marker)
	}
	if torn := lines[n-3]; len(torn) == 0 || len(torn) >= 999 || strings.Trim(torn, "L") != "" {
		t.Fatalf("the torn line is %d bytes %q...", len(torn), torn[:min(20, len(torn))])
	}
	for i, l := range lines[:n-3] {
		if l != line[:999] {
			t.Fatalf("line %d is not whole: %d bytes", i+1, len(l))
		}
	}
}
