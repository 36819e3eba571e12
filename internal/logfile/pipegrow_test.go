package logfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestPumpGrowsBulkPipeThroughRotations: a writer that fills the default
// pipe gets grownPipeSize; one that then fills even that between two
// rounds gets bulkPipeSize; and a numbered stream written through the
// grown pipe in 64 KiB writes (ending inside lines) arrives whole through
// at least 3 rotations at exact maxbytes boundaries: no line lost or torn.
// Suspend holds the reads back so that the pipe is full when read.
func TestPumpGrowsBulkPipeThroughRotations(t *testing.T) {
	const width, maxBytes, backups = 7, 1 << 20, 8
	path := filepath.Join(t.TempDir(), "out.log")
	w, err := OpenWriter(path, maxBytes, backups, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var all []byte
	for i := 0; len(all) < 5<<20; i++ {
		all = fmt.Appendf(all, "%0*d\n", width, i)
	}
	lines := len(all) / (width + 1)

	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	wfd := fds[1]
	defer func() { _ = unix.Close(wfd) }()
	off := 0
	fill := func() { // until the pipe is full
		for off < len(all) {
			n, err := unix.Write(wfd, all[off:min(off+64<<10, len(all))])
			if err == unix.EAGAIN {
				return
			}
			if err != nil {
				t.Fatalf("write: %v", err)
			}
			off += n
		}
	}
	pipeSize := func() int {
		n, err := unix.FcntlInt(uintptr(wfd), unix.F_GETPIPE_SZ, 0)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	changed, cancel := w.Subscribe()
	defer cancel()
	waitLogged := func(n int) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			if got, _ := w.Counters(); got >= int64(n) {
				return
			}
			select {
			case <-changed:
			case <-deadline:
				got, _ := w.Counters()
				t.Fatalf("logged %d of %d bytes", got, n)
			}
		}
	}

	p := newTestPump(t, testLogger(t))
	fill()
	closed := make(chan struct{})
	if _, err := p.AddFD(fds[0], "bulk", Sink{Name: "bulk", Log: w, OnClosed: func() { close(closed) }}); err != nil {
		t.Fatal(err)
	}
	waitLogged(off)
	if got := pipeSize(); got != grownPipeSize {
		t.Fatalf("pipe size %d after a full default pipe, want %d", got, grownPipeSize)
	}
	if p.Suspend() == nil {
		t.Fatal("Suspend: pump closed")
	}
	fill()
	p.Resume()
	waitLogged(off)
	want := bulkPipeSize
	if b, err := os.ReadFile("/proc/sys/fs/pipe-max-size"); err == nil && os.Geteuid() != 0 {
		if max, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && max < bulkPipeSize {
			want = grownPipeSize // an unprivileged daemon cannot go past it
		}
	}
	if got := pipeSize(); got != want {
		t.Fatalf("pipe size %d after a full grown pipe, want %d", got, want)
	}

	// The rest with blocking writes.
	if err := unix.SetNonblock(wfd, false); err != nil {
		t.Fatal(err)
	}
	for off < len(all) {
		n, err := unix.Write(wfd, all[off:min(off+64<<10, len(all))])
		if err != nil {
			t.Fatalf("write: %v", err)
		}
		off += n
	}
	_ = unix.Close(wfd)
	wfd = -1
	waitClosed(t, closed)

	rotations := checkRotations(t, path, backups, maxBytes, 3)
	got := readRotated(t, path, backups)
	if len(got) != len(all) {
		t.Fatalf("got %d bytes, want %d", len(got), len(all))
	}
	for i := range lines {
		if line, want := got[i*(width+1):(i+1)*(width+1)], all[i*(width+1):(i+1)*(width+1)]; string(line) != string(want) {
			t.Fatalf("line %d: got %q want %q", i, line, want)
		}
	}
	t.Logf("%d bytes, %d by splice, %d rotations", len(all), spliced(w), rotations)
}
