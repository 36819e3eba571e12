package spawn

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
)

func TestParseProcStat(t *testing.T) {
	line := "9132 (we ird) (x)) S 8863 8800 18398 0 -1 4194304 101 0 0 0 7 5 0 0 20 0 1 0 363478 3133440 389\n"
	st, ok := ParseProcStat([]byte(line))
	if !ok || st != (ProcStat{State: 'S', PPid: 8863, PGid: 8800, Flags: 4194304, CPU: 12, Start: 363478, RSS: 389, Threads: 1, ExitCode: -1}) {
		t.Fatalf("%+v %v", st, ok)
	}
	// A zombie's whole line (Linux 3.5+ has 52 fields): exit_code is its
	// wait status, here exit 7.
	zombie := "4242 (sh) Z 4200 4200 4200 0 -1 4227084 105 0 0 0 0 0 0 0 20 0 1 0 363500 0 0 18446744073709551615 0 0 0 0 0 0 0 0 65536 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 1792\n"
	if st, ok := ParseProcStat([]byte(zombie)); !ok || st.State != 'Z' || st.ExitCode != 7<<8 || !st.Execed() {
		t.Fatalf("zombie: %+v %v", st, ok)
	}
	if _, ok := ParseProcStat([]byte(strings.Replace(zombie, " 1792", " x", 1))); ok {
		t.Errorf("parsed a zombie line with a bad exit_code")
	}
	// A forked child before (or without) its exec: PF_FORKNOEXEC (0x40).
	if st, ok := ParseProcStat([]byte(strings.Replace(line, " 4194304 ", " 4194368 ", 1))); !ok || st.Execed() {
		t.Errorf("forked, not exec'd: %+v %v", st, ok)
	}
	for _, bad := range []string{"", "1 (x", "1 (x) S 1 2", "1 (x) S a 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22",
		"1 (x) S 1 2 3 4 5 -1 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22", // negative flags
		"1 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20"} {      // no rss
		if _, ok := ParseProcStat([]byte(bad)); ok {
			t.Errorf("parsed %q", bad)
		}
	}
	self, err := ReadProcStat(os.Getpid())
	if err != nil || self.PPid != os.Getppid() || self.State == 'Z' || self.RSS <= 0 || self.Threads < 1 || self.ExitCode != 0 || !self.Execed() {
		t.Fatalf("own stat %+v %v", self, err)
	}
	if _, err := ReadProcStat(1 << 30); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("stat of no process: %v, want not-exist", err)
	}
}

// ParseProcStat never panics and accepts only lines with the fields it
// reads.
func FuzzParseProcStat(f *testing.F) {
	f.Add([]byte("9132 (cat) R 8863 8863 18398 0 -1 4194304 101 0 0 0 0 0 0 0 20 0 1 0 363478 3133440 389\n"))
	f.Add([]byte("1 ((sd-pam)) S 0 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0"))
	f.Add([]byte("2 (a b) Z 1 1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, ok := ParseProcStat(b)
		if !ok && st != (ProcStat{}) {
			t.Fatalf("rejected with fields %+v", st)
		}
	})
}

// ReadProcFile reads a file longer than its buffer whole, as os.ReadFile:
// with small reads, and past the sizes where a short read is the end.
func TestReadProcFile(t *testing.T) {
	for _, path := range []string{"/proc/cpuinfo", "/proc/self/mountinfo", "/proc/self/stat"} {
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []int{1, 16, 1000, 1 << 16} {
			got, err := ReadProcFile(path, make([]byte, 0, size))
			if err != nil || (path != "/proc/self/stat" && string(got) != string(want)) || len(got) == 0 {
				t.Errorf("%s with a %d-byte buffer: %d bytes (%v), want %d", path, size, len(got), err, len(want))
			}
		}
	}
	want, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadProcFile("/proc/self/maps", make([]byte, 0, 16))
	if err != nil || len(got) < len(want)/2 || !strings.HasPrefix(string(want), string(got[:16])) {
		t.Fatalf("%d bytes (%v), want about %d", len(got), err, len(want))
	}
	if _, err := ReadProcFile("/proc/self/nonexistent", nil); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}
