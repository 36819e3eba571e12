package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func fuzzSeeds(f *testing.F) {
	files, _ := filepath.Glob("testdata/cases/*.conf")
	more, _ := filepath.Glob("testdata/cases/inc/*.conf")
	for _, p := range append(files, more...) {
		if b, err := readFileBytes(p); err == nil {
			f.Add(string(b))
		}
	}
}

// FuzzParse runs the whole reader (lexer, expansion, environment, typed
// build, validation; not the include reading) on arbitrary text: it must
// never panic, and must return either a valid Config or errors with places.
func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text string) {
		if !utf8.ValidString(text) {
			return // readFile refuses these before parsing
		}
		o := testOptions(dir).resolve()
		l := newLoader(o, filepath.Join(dir, "fuzz.conf"))
		l.noIncludes = true
		l.maxNumprocs = 64
		cfg, err := l.run(text)
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %T %v is not a non-empty ErrorList", err, err)
			}
			for _, e := range list {
				if e.Pos.File == "" || e.Msg == "" {
					t.Fatalf("error without place or message: %#v", e)
				}
			}
			return
		}
		for i, g := range cfg.Groups {
			if i > 0 {
				p := cfg.Groups[i-1]
				if p.Priority > g.Priority || (p.Priority == g.Priority && p.Name >= g.Name) {
					t.Fatalf("groups not sorted: %s then %s", p.Name, g.Name)
				}
			}
			for _, p := range g.Processes {
				if p.Name == "" || strings.ContainsAny(p.Name, " :/") {
					t.Fatalf("bad process name %q", p.Name)
				}
				if (p.Argv == nil) == (p.ArgvErr == "") && p.Command != "" && strings.TrimSpace(p.Command) != "" {
					t.Fatalf("argv %q and argv error %q for %q", p.Argv, p.ArgvErr, p.Command)
				}
				if !p.Equal(p) {
					t.Fatalf("process %s not equal to itself", p.Name)
				}
			}
			if !g.Equal(g) {
				t.Fatalf("group %s not equal to itself", g.Name)
			}
		}
	})
}

// FuzzExpand checks Python %-formatting never panics and that text without
// '%' is returned as is.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{"%(a)s", "%%", "%(n)05d", "%(a)r %(n)#x", "%s", "50%", "%(x", "%(a)*d", "%(n).3f %(n)c"} {
		f.Add(s)
	}
	dict := scope{{"a": strVal("it's"), "n": intVal(-42), "e": strVal("")}}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := pyFormat(s, dict)
		if !strings.Contains(s, "%") && (err != nil || out != s) {
			t.Fatalf("%q changed to %q, %v", s, out, err)
		}
	})
}

// FuzzEnv checks environment= parsing and command splitting never panic,
// and that every parsed pair round-trips through a quoted rewrite.
func FuzzEnv(f *testing.F) {
	for _, s := range []string{`A=1,B="x y",C='a,b'`, `A=$HOME`, "A=1;B=2,", `A="open`, "A=a#b\nc", `x "y z" 'w'\ v`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = shlexSplit(s)
		env, err := parseEnv(s)
		if err != nil {
			return
		}
		var parts []string
		for _, kv := range env {
			if strings.ContainsAny(kv.Value, `"'`) || !isSimpleKey(kv.Key) {
				return
			}
			parts = append(parts, kv.Key+`="`+kv.Value+`"`)
		}
		again, err := parseEnv(strings.Join(parts, ","))
		if err != nil || !again.equal(env) {
			t.Fatalf("%q → %v; rewritten %q → %v, %v", s, env, strings.Join(parts, ","), again, err)
		}
	})
}

func isSimpleKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !isEnvWordChar(r) {
			return false
		}
	}
	return true
}

func readFileBytes(p string) ([]byte, error) { return os.ReadFile(p) }
