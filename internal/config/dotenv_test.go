package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestParseDotenv(t *testing.T) {
	b, err := os.ReadFile("testdata/dotenv/all.env")
	if err != nil {
		t.Fatal(err)
	}
	env, err := ParseDotenv(string(b))
	if err != nil {
		t.Fatal(err)
	}
	want := Env{
		{"PLAIN", "later wins"}, {"SPACED", "around equals"}, {"EXPORTED", "yes"}, {"EMPTY", ""},
		{"SINGLE", `literal $HOME \n # not a comment`}, {"DOUBLE", "tab\there \"quoted\" back\\slash $HOME"},
		{"HASH", "a#b"}, {"PEM", "-----BEGIN KEY-----\nabc\n-----END KEY-----"},
	}
	if len(env) != len(want) {
		t.Fatalf("%q", env)
	}
	for i := range want {
		if env[i] != want[i] {
			t.Errorf("%d: %q, want %q", i, env[i], want[i])
		}
	}
	b, _ = os.ReadFile("testdata/dotenv/crlf.env")
	if env, err := ParseDotenv(string(b)); err != nil || len(env) != 2 || env[0].Value != "yes" || env[1].Value != "crlf" {
		t.Errorf("CRLF: %q %v", env, err)
	}
	for _, c := range []struct{ text, want string }{
		{"A=1\nnot a pair\n", `line 2: "not a pair" is not KEY=VALUE`},
		{"1A=x\n", `line 1: "1A" is not a variable name (letters, digits and _, not starting with a digit)`},
		{"A-B=x\n", `line 1: "A-B" is not a variable name (letters, digits and _, not starting with a digit)`},
		{"A=1\nB=\"open\nstill open\n", "line 2: the quote of B is not closed"},
		{"A='x' y\n", `line 1: "y" after the closing quote of A`},
		{"A=\"x\x00\"\n", "line 1: the value of A contains a NUL byte"},
	} {
		if _, err := ParseDotenv(c.text); err == nil || err.Error() != c.want {
			t.Errorf("%q: %v, want %q", c.text, err, c.want)
		}
	}
}

// environment_file: several files, relative to the config file, a later
// one wins, environment= wins over them; a changed file is a changed
// program for reread/update; errors name the env file's line.
func TestEnvironmentFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("base.env", "A=base\nB=base\nC=base\n")
	write("secrets.env", "# rotated\nB=secret1\nC=secret1\n")
	conf := filepath.Join(dir, "supervisord.conf")
	write("supervisord.conf", "[supervisord]\nenvironment = G=global,A=global\n[program:web]\ncommand = /bin/true\n"+
		"environment_file = base.env, secrets.env\nenvironment = C=explicit\n")
	load := func() *Config {
		t.Helper()
		cfg, err := Load(conf, testOptions(dir))
		if err != nil {
			t.Fatal(err)
		}
		if len(cfg.Warnings) != 0 {
			t.Fatalf("warnings %v", cfg.Warnings)
		}
		return cfg
	}
	cfg := load()
	p := cfg.Groups[0].Processes[0]
	for k, want := range map[string]string{"G": "global", "A": "base", "B": "secret1", "C": "explicit"} {
		if v, _ := p.Environment.Lookup(k); v != want {
			t.Errorf("%s=%q, want %q", k, v, want)
		}
	}
	if got := p.Drover.EnvFiles; len(got) != 2 || got[1] != filepath.Join(dir, "secrets.env") {
		t.Errorf("EnvFiles %v", got)
	}
	// A rotated secret: the same config, a changed program.
	write("secrets.env", "B=secret2\nC=secret2\n")
	q := load().Groups[0].Processes[0]
	if p.Equal(q) {
		t.Error("a changed environment file is not a change")
	}
	if v, _ := q.Environment.Lookup("B"); v != "secret2" {
		t.Errorf("B=%q after the rotation", v)
	}
	write("secrets.env", "B=secret2\nC=secret2\n# only a comment more\n")
	if r := load().Groups[0].Processes[0]; !q.Equal(r) {
		t.Error("a comment in the env file is a change")
	}

	write("secrets.env", "B=ok\nC 'oops'\n")
	_, err := Load(conf, testOptions(dir))
	if want := filepath.Join(dir, "secrets.env") + `:2: [program:web] environment_file: "C 'oops'" is not KEY=VALUE`; err == nil || err.Error() != want {
		t.Errorf("bad line: %v\nwant %s", err, want)
	}
	os.Remove(filepath.Join(dir, "secrets.env"))
	_, err = Load(conf, testOptions(dir))
	if err == nil || !strings.Contains(err.Error(), "supervisord.conf:5: [program:web] environment_file: cannot read "+filepath.Join(dir, "secrets.env")+": no such file or directory") {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzDotenv: any text either fails with a line number or parses into
// valid keys whose values survive being written back double-quoted.
func FuzzDotenv(f *testing.F) {
	for _, p := range []string{"testdata/dotenv/all.env", "testdata/dotenv/crlf.env"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("A=\"unterminated\nB=2")
	f.Add("export export=1\nexport\tX = ' y ' # z")
	f.Fuzz(func(t *testing.T, text string) {
		env, err := ParseDotenv(text)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		var b strings.Builder
		r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`, "\r", `\r`)
		for _, kv := range env {
			if !validEnvKey(kv.Key) || strings.IndexByte(kv.Value, 0) >= 0 {
				t.Fatalf("%q parsed into %q", text, kv)
			}
			b.WriteString(kv.Key + `="` + r.Replace(kv.Value) + "\"\n")
		}
		again, err := ParseDotenv(b.String())
		if err != nil || !again.equal(env) || len(again) != len(env) {
			t.Fatalf("%q → %q; written back %q → %q, %v", text, env, b.String(), again, err)
		}
	})
}

// The example in docs/config.md parses as it says.
func TestDotenvDocExample(t *testing.T) {
	b, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(b), "```sh\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("no dotenv example in docs/config.md")
	}
	env, err := ParseDotenv(block)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"DATABASE_URL": "postgres://app@db/app", "API_TOKEN": "abc123", "GREETING": "taken $as written",
		"MOTTO": "tab\there, \"quoted\", $5", "TLS_KEY": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC...\n-----END PRIVATE KEY-----",
	} {
		if v, _ := env.Lookup(k); v != want {
			t.Errorf("%s=%q, want %q", k, v, want)
		}
	}
}

// TestDocsIssue18Examples: the ini examples of docs/config.md's sections
// on depends_on, backoff, environment_file and health load with no error
// and no warning (environment_file's files written next to them).
func TestDocsIssue18Examples(t *testing.T) {
	b, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, "### Start order: `depends_on`")
	j := strings.Index(text, "## drover's own sections and control options")
	if i < 0 || j < i {
		t.Fatal("sections not found in docs/config.md")
	}
	blocks := regexp.MustCompile("(?s)```ini\n(.*?)```").FindAllStringSubmatch(text[i:j], -1)
	if len(blocks) != 4 {
		t.Fatalf("%d ini examples, want 4", len(blocks))
	}
	for _, m := range blocks {
		dir := t.TempDir()
		body := strings.ReplaceAll(m[1], "/etc/app/secrets.env", filepath.Join(dir, "secrets.env"))
		for _, f := range []string{"app.env", "secrets.env"} {
			if err := os.WriteFile(filepath.Join(dir, f), []byte("A=1\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		conf := filepath.Join(dir, "supervisord.conf")
		if err := os.WriteFile(conf, []byte("[supervisord]\n"+body), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(conf, Options{})
		if err != nil {
			t.Errorf("example does not load: %v\n%s", err, body)
			continue
		}
		if len(cfg.Warnings) != 0 {
			t.Errorf("example warns: %v\n%s", cfg.Warnings, body)
		}
	}
}
