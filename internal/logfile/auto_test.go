package logfile

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

func TestCreateAuto(t *testing.T) {
	dir := t.TempDir()
	re := regexp.MustCompile(`^web-stdout---supervisor-[a-z0-9_]{8}\.log$`)
	seen := map[string]bool{}
	for range 50 {
		p, err := CreateAuto(dir, "web", "stdout", "supervisor")
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Dir(p) != dir || !re.MatchString(filepath.Base(p)) {
			t.Fatalf("bad AUTO name %q", p)
		}
		if seen[p] {
			t.Fatalf("duplicate name %q", p)
		}
		seen[p] = true
		st, err := os.Stat(p)
		if err != nil || st.Size() != 0 || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", p, st.Mode(), err)
		}
	}
	if _, err := CreateAuto(filepath.Join(dir, "missing"), "web", "stderr", "x"); err == nil {
		t.Fatal("missing childlogdir accepted")
	}
}

func TestCleanupAuto(t *testing.T) {
	dir := t.TempDir()
	a, err := CreateAuto(dir, "web", "stdout", "sup.1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := CreateAuto(dir, "web", "stderr", "sup.1")
	if err != nil {
		t.Fatal(err)
	}
	keep := []string{
		"web-stdout---other-abc.log",  // other identifier
		"web-stdout---supx1-abc.log",  // the dot in the identifier is literal
		"---sup.1-abc.log",            // nothing before ---
		"web-stdout---sup.1-abc.txt",  // not .log
		"notes.log",                   //
		"web-stdout---sup.1- abc.log", // space where \S is needed
	}
	extra := []string{a + ".1", a + ".12", b + ".3"}
	for _, n := range keep {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range extra {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := CleanupAuto(dir, "sup.1")
	if err != nil {
		t.Fatal(err)
	}
	want := append([]string{a, b}, extra...)
	slices.Sort(want)
	slices.Sort(removed)
	if !slices.Equal(removed, want) {
		t.Fatalf("removed %q, want %q", removed, want)
	}
	left, _ := os.ReadDir(dir)
	if len(left) != len(keep) {
		t.Fatalf("left %d files, want %d", len(left), len(keep))
	}
	if _, err := CleanupAuto(filepath.Join(dir, "missing"), "x"); err == nil {
		t.Fatal("missing dir gave no error")
	}
}
