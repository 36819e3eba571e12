package logfile

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Truncated is what a Follower returns when the file shrank under it, as
// supervisord's tail -f does.
const Truncated = "==> File truncated <==\n"

// Follower reads what is appended to a log file, following rotation and
// truncation the way supervisord's /logtail (tail_f_producer) does: a new
// inode at the path means rotation, and reading starts over at the start
// of the new file; a file shorter than what was read means truncation and
// yields Truncated. It is not safe for concurrent use. Pair it with
// Writer.Subscribe to know when to call More.
type Follower struct {
	path string
	f    *os.File
	ino  uint64
	pos  int64
}

// NewFollower opens path positioned head bytes before its end (0 or a
// negative head starts at the end); supervisord's /logtail uses 1024.
// A missing file gives ErrNoFile.
func NewFollower(path string, head int64) (*Follower, error) {
	fl := &Follower{path: path}
	if err := fl.open(); err != nil {
		return nil, err
	}
	sz, err := fl.size()
	if err != nil {
		fl.Close()
		return nil, err
	}
	fl.pos = max(sz-max(head, 0), 0)
	return fl, nil
}

func (fl *Follower) open() error {
	f, err := os.Open(fl.path)
	if err != nil {
		return openErr(fl.path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return fmt.Errorf("follow %s: %w", fl.path, err)
	}
	fl.f, fl.ino, fl.pos = f, st.Ino, 0
	return nil
}

func (fl *Follower) size() (int64, error) {
	st, err := fl.f.Stat()
	if err != nil {
		return 0, fmt.Errorf("follow %s: %w", fl.path, err)
	}
	return st.Size(), nil
}

// More returns the bytes appended since the last call (at most max bytes
// per call, the rest comes next time; max <= 0 means no limit), or
// Truncated, or nothing. When the path names a new file (rotation, Clear)
// it switches to it; while the path is missing it keeps reading the old
// file.
func (fl *Follower) More(max int64) ([]byte, error) {
	var st unix.Stat_t
	if err := unix.Stat(fl.path, &st); err == nil && st.Ino != fl.ino {
		old := fl.f
		if err := fl.open(); err == nil {
			old.Close()
		}
	}
	sz, err := fl.size()
	if err != nil {
		return nil, err
	}
	if sz < fl.pos {
		fl.pos = 0
		return []byte(Truncated), nil
	}
	n := sz - fl.pos
	if max > 0 && n > max {
		n = max
	}
	if n == 0 {
		return nil, nil
	}
	buf := make([]byte, n)
	got, err := fl.f.ReadAt(buf, fl.pos)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("follow %s: %w", fl.path, err)
	}
	fl.pos += int64(got)
	return buf[:got], nil
}

// Close closes the file.
func (fl *Follower) Close() error { return fl.f.Close() }
