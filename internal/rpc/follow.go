package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TruncatedNote is sent on a log stream when the file shrinks.
const TruncatedNote = "==> File truncated <==\n"

// tailHead is how many bytes of existing log a stream starts with.
const tailHead = 1024

// maxChunk bounds one emitted piece so a burst is sent incrementally.
const maxChunk = 64 << 10

// follow sends the last tailHead bytes of path to emit, then every byte
// appended later, until ctx ends or emit fails. It sleeps in inotify:
// writes and truncation are seen on the file, rotation and re-creation
// (a new inode at path) on its directory. On rotation the rest of the old
// file is sent before switching. A shrinking file sends TruncatedNote and
// continues from its start. Errors opening path are returned at once.
func follow(ctx context.Context, path string, emit func([]byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { f.Close() }()
	ino, size, err := statFile(f)
	if err != nil {
		return err
	}
	pos := max(size-tailHead, 0)

	in, err := newInotify(path)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { in.Close() })
	defer stop()
	defer in.Close()

	buf := make([]byte, maxChunk)
	for {
		// Send what is new in the open file.
		_, size, err := statFile(f)
		if err != nil {
			return err
		}
		if size < pos {
			pos = 0
			if err := emit([]byte(TruncatedNote)); err != nil {
				return err
			}
		}
		if pos, err = copyRange(f, pos, size, buf, emit); err != nil {
			return err
		}
		// Rotated or re-created: finish the old file, then switch.
		if nino, ok := inodeOf(path); ok && nino != ino {
			if nf, err := os.Open(path); err == nil {
				if _, end, err := statFile(f); err == nil {
					if _, err := copyRange(f, pos, end, buf, emit); err != nil {
						nf.Close()
						return err
					}
				}
				f.Close()
				f, pos = nf, 0
				if ino, _, err = statFile(f); err != nil {
					return err
				}
				in.watchFile(path)
				continue
			}
		}
		if err := in.wait(); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
	}
}

// copyRange emits f[pos:end] in chunks and returns the new position.
func copyRange(f *os.File, pos, end int64, buf []byte, emit func([]byte) error) (int64, error) {
	for pos < end {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), end-pos)], pos)
		if n > 0 {
			if err := emit(buf[:n]); err != nil {
				return pos, err
			}
			pos += int64(n)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return pos, nil // truncated meanwhile; the next pass sees it
			}
			return pos, err
		}
	}
	return pos, nil
}

func statFile(f *os.File) (ino uint64, size int64, err error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fi.Size(), nil
	}
	return st.Ino, fi.Size(), nil
}

func inodeOf(path string) (uint64, bool) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, false
	}
	return st.Ino, true
}

// inotify watches one file and its directory. Its fd is non-blocking and
// wrapped in an *os.File, so reads park in Go's poller and Close wakes
// them.
type inotify struct {
	f    *os.File
	fd   int
	base string
	buf  []byte
}

const (
	fileEvents = unix.IN_MODIFY | unix.IN_ATTRIB | unix.IN_CLOSE_WRITE | unix.IN_MOVE_SELF | unix.IN_DELETE_SELF
	dirEvents  = unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_DELETE
)

func newInotify(path string) (*inotify, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	in := &inotify{f: os.NewFile(uintptr(fd), "inotify"), fd: fd, base: filepath.Base(path), buf: make([]byte, 4096)}
	if _, err := unix.InotifyAddWatch(fd, filepath.Dir(path), dirEvents); err != nil {
		in.Close()
		return nil, fmt.Errorf("inotify watch %s: %w", filepath.Dir(path), err)
	}
	if err := in.watchFile(path); err != nil {
		in.Close()
		return nil, err
	}
	return in, nil
}

// watchFile (re)adds the watch on the inode currently at path.
func (in *inotify) watchFile(path string) error {
	if _, err := unix.InotifyAddWatch(in.fd, path, fileEvents); err != nil {
		return fmt.Errorf("inotify watch %s: %w", path, err)
	}
	return nil
}

// wait blocks until an event concerns the file (directory events for
// other names are skipped).
func (in *inotify) wait() error {
	for {
		n, err := in.f.Read(in.buf)
		if err != nil {
			return err
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&in.buf[off]))
			nameBytes := in.buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			off += unix.SizeofInotifyEvent + int(ev.Len)
			if ev.Len == 0 || cstring(nameBytes) == in.base || ev.Mask&unix.IN_Q_OVERFLOW != 0 {
				return nil
			}
		}
	}
}

func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// Close releases the inotify fd; safe to call more than once.
func (in *inotify) Close() error { return in.f.Close() }
