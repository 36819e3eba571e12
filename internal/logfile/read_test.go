package logfile

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.log")
	if err := os.WriteFile(path, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		offset, length int64
		want           string
		err            error
	}{
		{0, 0, "0123456789", nil},               // length 0: to the end
		{3, 0, "3456789", nil},                  //
		{3, 4, "3456", nil},                     //
		{8, 100, "89", nil},                     // past the end: what there is
		{10, 0, "", nil},                        // at the end
		{50, 5, "", nil},                        // beyond the end
		{-4, 0, "6789", nil},                    // last |offset| bytes
		{-100, 0, "0123456789", nil},            // more than the file
		{math.MinInt64, 0, "0123456789", nil},   // no overflow
		{-4, 2, "", ErrBadArguments},            // negative offset with length
		{-4, -2, "", ErrBadArguments},           //
		{0, -1, "", ErrBadArguments},            // negative length
		{0, math.MaxInt64, "0123456789", nil},   // absurd length: no huge allocation
		{math.MaxInt64, math.MaxInt64, "", nil}, //
	}
	for _, c := range cases {
		got, err := Read(path, c.offset, c.length)
		if !errors.Is(err, c.err) || string(got) != c.want {
			t.Errorf("Read(%d,%d) = %q, %v; want %q, %v", c.offset, c.length, got, err, c.want, c.err)
		}
	}
	if _, err := Read(path+".missing", 0, 0); !errors.Is(err, ErrNoFile) {
		t.Errorf("missing file: %v", err)
	}
	// Raw bytes, not UTF-8.
	if err := os.WriteFile(path, []byte{0xff, 0x1b, 0}, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _ := Read(path, 0, 0); string(got) != "\xff\x1b\x00" {
		t.Errorf("raw bytes: %q", got)
	}
}

func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.log")
	if err := os.WriteFile(path, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Expected values follow supervisord's tailFile arithmetic.
	cases := []struct {
		offset, length int64
		want           string
		newOffset      int64
		overflow       bool
	}{
		{0, 1600, "0123456789", 10, false}, // first call of tail -f
		{0, 4, "6789", 10, true},           // grown past offset+length: last length bytes
		{6, 4, "6789", 10, false},          // exactly fits
		{8, 4, "6789", 10, false},          // window shifted back to end at EOF (supervisord)
		{10, 4, "", 10, false},             // nothing new
		{12, 4, "", 10, false},             // offset beyond the end (file shrank)
		{-5, 10, "0123456789", 10, true},   // negative offset clamps to 0
		{3, -2, "", 10, true},              // negative length reads nothing
		{0, 0, "", 10, true},               //
		{math.MaxInt64, 5, "", 10, false},  // no overflow
		{5, math.MaxInt64, "0123456789", 10, false},
	}
	for _, c := range cases {
		got, off, ovf, err := Tail(path, c.offset, c.length)
		if err != nil || string(got) != c.want || off != c.newOffset || ovf != c.overflow {
			t.Errorf("Tail(%d,%d) = %q,%d,%v,%v; want %q,%d,%v", c.offset, c.length, got, off, ovf, err, c.want, c.newOffset, c.overflow)
		}
	}
	if _, off, _, err := Tail(path+".missing", 7, 5); !errors.Is(err, ErrNoFile) || off != 7 {
		t.Errorf("missing file: %d, %v", off, err)
	}
}

// FuzzReadTail: no argument pair may panic or return more than the file.
func FuzzReadTail(f *testing.F) {
	f.Add(int64(0), int64(0))
	f.Add(int64(-3), int64(0))
	f.Add(int64(math.MinInt64), int64(math.MaxInt64))
	path := filepath.Join(f.TempDir(), "f.log")
	if err := os.WriteFile(path, []byte("0123456789"), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, offset, length int64) {
		if b, err := Read(path, offset, length); err == nil && len(b) > 10 {
			t.Fatalf("Read returned %d bytes", len(b))
		}
		if b, off, _, err := Tail(path, offset, length); err != nil || len(b) > 10 || off != 10 {
			t.Fatalf("Tail = %d bytes, %d, %v", len(b), off, err)
		}
	})
}
