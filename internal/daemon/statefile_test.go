package daemon

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestWriteStateKeepsTwoInodes: the state file is replaced whole, write
// after write, by trading names with its ".next" file: no inode is made
// or freed after the first two, and a shorter content leaves no tail.
func TestWriteStateKeepsTwoInodes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.pid.state")
	ino := func(p string) uint64 {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		return st.Ino
	}
	inodes := map[uint64]bool{}
	for i, content := range []string{"first, the longest content", "second", "third one", "4"} {
		if err := writeState(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil || string(b) != content {
			t.Fatalf("write %d: read %q, %v", i, b, err)
		}
		inodes[ino(path)] = true
		if i > 0 {
			inodes[ino(path+".next")] = true
		}
	}
	if len(inodes) != 2 {
		t.Fatalf("the state file used %d inodes over 4 writes, want 2", len(inodes))
	}
}
