package logfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func more(t *testing.T, fl *Follower, max int64) string {
	t.Helper()
	b, err := fl.More(max)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func signalled(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no signal")
	}
}

// TestFollowerWithSubscribe: a follower woken by the Writer sees appends,
// rotation (new inode: starts over in the new file), Clear, and truncation.
func TestFollowerWithSubscribe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.log")
	w := mustOpen(t, path, 20, 1)
	write(t, w, "0123456789")
	ch, cancel := w.Subscribe()
	defer cancel()
	fl, err := NewFollower(path, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	if got := more(t, fl, 0); got != "6789" {
		t.Fatalf("head: %q", got)
	}
	if got := more(t, fl, 0); got != "" {
		t.Fatalf("nothing new: %q", got)
	}
	write(t, w, "abc")
	signalled(t, ch)
	if got := more(t, fl, 2); got != "ab" {
		t.Fatalf("limited: %q", got)
	}
	if got := more(t, fl, 0); got != "c" {
		t.Fatalf("rest: %q", got)
	}
	write(t, w, "defghi\n") // 20 bytes ending a line: rotates, new empty base
	signalled(t, ch)
	write(t, w, "new")
	signalled(t, ch)
	if got := more(t, fl, 0); got != "new" {
		t.Fatalf("after rotation: %q", got)
	}
	if err := w.Clear(); err != nil {
		t.Fatal(err)
	}
	signalled(t, ch)
	write(t, w, "cleared")
	if got := more(t, fl, 0); got != "cleared" {
		t.Fatalf("after clear: %q", got)
	}
	if err := os.Truncate(path, 2); err != nil {
		t.Fatal(err)
	}
	if got := more(t, fl, 0); got != Truncated {
		t.Fatalf("after truncate: %q", got)
	}
	if got := more(t, fl, 0); got != "cl" {
		t.Fatalf("after truncate, from 0: %q", got)
	}
	select { // drop a pending signal
	case <-ch:
	default:
	}
	cancel()
	cancel()
	write(t, w, "x")
	select {
	case <-ch:
		t.Fatal("signal after cancel")
	default:
	}
	if _, err := NewFollower(path+".missing", 0); !errors.Is(err, ErrNoFile) {
		t.Fatalf("missing: %v", err)
	}
}
