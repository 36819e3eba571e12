package config

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// testHost knows three users and their groups; directories are real.
type testHost struct{}

var testUsers = map[string]*UserInfo{
	"root":   {Name: "root", UID: 0, GID: 0, Groups: []uint32{0}, HomeDir: "/root"},
	"nobody": {Name: "nobody", UID: 65534, GID: 65534, Groups: []uint32{65534}, HomeDir: "/nonexistent"},
	"app":    {Name: "app", UID: 1000, GID: 1000, Groups: []uint32{1000, 27}, HomeDir: "/home/app"},
}

func (testHost) LookupUser(s string) (*UserInfo, error) {
	for _, u := range testUsers {
		if u.Name == s || itoa(u.UID) == s {
			return u, nil
		}
	}
	return nil, ErrUnknownUser
}

func (testHost) LookupGroup(s string) (int, error) {
	switch s {
	case "root", "0":
		return 0, nil
	case "nogroup", "65534":
		return 65534, nil
	case "app", "1000":
		return 1000, nil
	}
	return 0, ErrUnknownGroup
}

func (testHost) IsDir(p string) bool { return OSHost{}.IsDir(p) }
func (testHost) UID() int            { return 0 }

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// testOptions is the fixed machine every case runs on.
func testOptions(dir string) Options {
	return Options{
		Env:      []string{"HOME=/tmp", "WORKERS=3", "SECRET=hunter2", "FLAG=yes", "LEVEL=debug", "COLON=a:b", "SIG=usr1"},
		Hostname: "testhost", Dir: dir, TempDir: "/tmp", Host: testHost{},
	}
}

// golden is what a case file produces.
type golden struct {
	Parsed   *Dump    `json:"parsed,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	Errors   []string `json:"errors,omitempty"`
}

func loadCase(t *testing.T, dir, file string) golden {
	cfg, err := Load(file, testOptions(dir))
	var g golden
	rel := func(s string) string { return strings.ReplaceAll(s, dir, "<CASES>") }
	if err != nil {
		var list ErrorList
		if !errors.As(err, &list) {
			t.Fatalf("error is %T, want ErrorList", err)
		}
		for _, e := range list {
			if e.Pos.File == "" {
				t.Errorf("error without a file: %v", e)
			}
			g.Errors = append(g.Errors, rel(e.Error()))
		}
		return g
	}
	d := cfg.Dump()
	g.Parsed = &d
	for _, w := range cfg.Warnings {
		g.Warnings = append(g.Warnings, rel(w.String()))
	}
	b, _ := json.Marshal(g.Parsed)
	_ = json.Unmarshal([]byte(rel(string(b))), g.Parsed)
	return g
}

// deliberateCases are the cases where drover differs from supervisord 4.2
// on purpose (docs/config.md); testdata/oracle/compare.py lists them too.
var deliberateCases = map[string]string{
	"err_env_hash":               "4.2 silently drops the text after an unquoted '#' in environment=",
	"err_env_space":              "4.2 silently keeps only the first word of an unquoted value",
	"err_env_truncated":          "4.2 turns A=$HOME into A=$",
	"err_percent_s_trap":         "4.2 expands a bare %s to the whole dict, secrets included",
	"err_group_duplicate":        "4.2 silently drops one of two groups with the same name",
	"err_process_name_env_colon": "4.2 checks process names only before expansion",
	"ini_bom":                    "4.2 fails on a UTF-8 byte order mark",
}

// TestCases loads every testdata/cases/*.conf and compares the result
// (dump and warnings, or errors) with its .golden file. The goldens were
// checked against supervisord 4.2.5 (see docs/config.md); -update rewrites.
func TestCases(t *testing.T) {
	dir, err := filepath.Abs("testdata/cases")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.conf"))
	if len(files) == 0 {
		t.Fatal("no cases")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".conf")
		t.Run(name, func(t *testing.T) {
			got := loadCase(t, dir, f)
			if why, ok := deliberateCases[name]; ok {
				t.Logf("deliberate difference from 4.2: %s", why)
			}
			if strings.HasPrefix(name, "err_") != (got.Errors != nil) {
				t.Errorf("err_ prefix and outcome disagree: %v", got.Errors)
			}
			var buf strings.Builder
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(got); err != nil {
				t.Fatal(err)
			}
			b := []byte(buf.String())
			gf := filepath.Join(dir, name+".golden")
			if *update {
				if err := os.WriteFile(gf, b, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(gf)
			if err != nil {
				t.Fatalf("%v (run go test -run TestCases -update)", err)
			}
			if string(want) != string(b) {
				t.Errorf("differs from %s (run with -update if intended):\n%s", gf, diffLines(string(want), string(b)))
			}
		})
	}
}
