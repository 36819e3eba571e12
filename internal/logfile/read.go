package logfile

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// ErrNoFile means the log file does not exist (the API's NO_FILE fault).
var ErrNoFile = errors.New("log file does not exist")

// ErrBadArguments means the offset/length combination is not allowed (the
// API's BAD_ARGUMENTS fault).
var ErrBadArguments = errors.New("bad offset or length")

// Read returns bytes of the file at path with supervisord's readLog rules:
//   - offset < 0 and length == 0: the last |offset| bytes (the whole file if
//     it is shorter);
//   - offset < 0 with length != 0, or length < 0: ErrBadArguments;
//   - offset >= 0 and length == 0: from offset to the end;
//   - offset >= 0 and length > 0: up to length bytes from offset.
//
// An offset past the end gives no bytes. A missing file gives ErrNoFile;
// any other failure is returned wrapped (the API's FAILED fault). The bytes
// are raw; they need not be valid UTF-8.
func Read(path string, offset, length int64) ([]byte, error) {
	if (offset < 0 && length != 0) || length < 0 {
		return nil, ErrBadArguments
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, openErr(path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read log %s: %w", path, err)
	}
	size := st.Size()
	if offset < 0 {
		if offset < -size {
			offset = 0
		} else {
			offset += size
		}
		length = size - offset
	} else if length == 0 {
		length = size - offset
	}
	// Never trust the requested length for the allocation: the file may be
	// shorter (or the caller asked for 2^62 bytes).
	length = min(length, max(size-offset, 0))
	if length <= 0 {
		return []byte{}, nil
	}
	buf := make([]byte, length)
	n, err := f.ReadAt(buf, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read log %s: %w", path, err)
	}
	return buf[:n], nil
}

// Tail implements supervisord's tail*Log rules for the file at path: if the
// file is longer than offset+length, overflow is set and the last length
// bytes are returned; otherwise the bytes from offset to the end (at most
// length). newOffset is always the file's size. A missing file gives
// ErrNoFile (the API answers [”, 0, false]); on any other failure the error
// is returned with newOffset = offset (the API answers [”, offset, false]).
func Tail(path string, offset, length int64) (data []byte, newOffset int64, overflow bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, offset, false, openErr(path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, offset, false, fmt.Errorf("tail log %s: %w", path, err)
	}
	sz := st.Size()
	orig := offset
	// The arithmetic follows supervisord's tailFile step by step.
	if sz > satAdd(offset, length) {
		overflow = true
		offset = sz - 1
	}
	if satAdd(offset, length) > sz {
		if offset > sz-1 {
			length = 0
		}
		offset = sz - length
	}
	offset = max(offset, 0)
	length = max(length, 0)
	length = min(length, max(sz-offset, 0))
	if length == 0 {
		return []byte{}, sz, overflow, nil
	}
	buf := make([]byte, length)
	n, err := f.ReadAt(buf, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, orig, false, fmt.Errorf("tail log %s: %w", path, err)
	}
	return buf[:n], sz, overflow, nil
}

func openErr(path string, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %s", ErrNoFile, path)
	}
	return fmt.Errorf("open log %s: %w", path, err)
}

// satAdd adds without wrapping around, so absurd API arguments cannot turn
// a comparison upside down.
func satAdd(a, b int64) int64 {
	c := a + b
	if a > 0 && b > 0 && c < 0 {
		return math.MaxInt64
	}
	if a < 0 && b < 0 && c >= 0 {
		return math.MinInt64
	}
	return c
}
