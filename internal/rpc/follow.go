package rpc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// TruncatedNote is sent on a log stream when the file shrinks.
const TruncatedNote = "==> File truncated <==\n"

// tailHead is how many bytes of existing log a stream starts with.
const tailHead = 1024

// maxChunk bounds one emitted piece so a burst is sent incrementally.
const maxChunk = 64 << 10

// follow sends the last tailHead bytes of path to emit, then every byte
// appended later, until ctx ends or emit fails. It sleeps in inotify (the
// shared watcher w): writes and truncation are seen on the file, rotation
// and re-creation (a new inode at path) on its directory. On rotation the
// rest of the old file is sent before switching. A shrinking file sends
// TruncatedNote and continues from its start. Errors opening path are
// returned at once.
func follow(ctx context.Context, w *watcher, path string, emit func([]byte) error) error {
	return followFrom(ctx, w, path, emit, false)
}

// followFrom is follow; with lineStart a tail that begins inside a line
// begins after that line's end instead (the combined log sends only whole
// lines).
func followFrom(ctx context.Context, w *watcher, path string, emit func([]byte) error, lineStart bool) error {
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
	if lineStart {
		pos = lineStartAt(f, pos, size)
	}

	in, err := w.watch(path)
	if err != nil {
		return err
	}
	defer in.close()

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
				if err := in.watchFile(path); err != nil {
					return err
				}
				continue
			}
		}
		if err := in.wait(ctx); err != nil {
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

// lineStartAt moves pos, the start of a tail of f's first size bytes, to
// the first line start at or after it (size when the tail holds none).
func lineStartAt(f *os.File, pos, size int64) int64 {
	if pos == 0 {
		return 0
	}
	// From the byte before the tail: a '\n' there means the tail starts a
	// line.
	head := make([]byte, size-pos+1)
	n, _ := f.ReadAt(head, pos-1)
	if i := bytes.IndexByte(head[:n], '\n'); i >= 0 {
		return pos + int64(i)
	}
	return size
}
