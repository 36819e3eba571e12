package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseGetopt(t *testing.T) {
	f, rest, err := parseGetopt([]string{"-ic", "a.conf", "--serverurl=unix:///x", "-uadmin", "--password", "pw", "-r", "h", "status", "-c", "web"})
	if err != nil {
		t.Fatal(err)
	}
	if !f.interactive || *f.config != "a.conf" || *f.serverURL != "unix:///x" || *f.username != "admin" || *f.password != "pw" || *f.history != "h" {
		t.Errorf("flags: %+v", f)
	}
	if !reflect.DeepEqual(rest, []string{"status", "-c", "web"}) {
		t.Errorf("rest %q", rest)
	}
	if _, rest, _ := parseGetopt([]string{"--", "-x"}); !reflect.DeepEqual(rest, []string{"-x"}) {
		t.Errorf("-- : %q", rest)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-x"}, "option -x not recognized"},
		{[]string{"--nope"}, "option --nope not recognized"},
		{[]string{"-c"}, "option -c requires argument"},
		{[]string{"--help=1"}, "option --help must not have an argument"},
		{[]string{"-c", "a", "-c", "b"}, "conflicting command line option '-c'"},
		{[]string{"-s", "nourl"}, "invalid value for -s 'nourl': value 'nourl' is not a URL"},
	} {
		if _, _, err := parseGetopt(c.args); err == nil || err.Error() != c.want {
			t.Errorf("%q: %v, want %q", c.args, err, c.want)
		}
	}
}

func TestParseVerbArgs(t *testing.T) {
	f, pos, err := parseVerbArgs([]string{"-f", "-c", "x.conf", "web", "--json", "-sunix:///s", "stderr", "-100", "--", "-c"}, ctlFlags{}, true)
	if err != nil {
		t.Fatal(err)
	}
	if *f.config != "x.conf" || !f.json || *f.serverURL != "unix:///s" {
		t.Errorf("flags %+v", f)
	}
	if !reflect.DeepEqual(pos, []string{"-f", "web", "stderr", "-100", "-c"}) {
		t.Errorf("positional %q", pos)
	}
	if _, _, err := parseVerbArgs([]string{"-c", "x"}, ctlFlags{}, false); err == nil {
		t.Error("-c accepted in the shell")
	}
	if _, _, err := parseVerbArgs([]string{"-c"}, ctlFlags{}, true); err == nil {
		t.Error("-c without a value accepted")
	}
}

func TestHoistCtlOptions(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"-c f status web", "status -c f web"},
		{"--configuration=f -s unix:///x tail -f web", "tail --configuration=f -s unix:///x -f web"},
		{"-c f", "ctl -c f"},
		{"-c f ctl", "ctl -c f"},
		{"-c f run -n", "-c f run -n"},
		{"run -c f", "run -c f"},
		{"status -c f", "status -c f"},
		{"-h", "-h"},
		{"-c", "-c"},
	} {
		if got := strings.Join(hoistCtlOptions(strings.Fields(c.in)), " "); got != c.want {
			t.Errorf("%q → %q, want %q", c.in, got, c.want)
		}
	}
}

func TestReadCtlSection(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "s.conf")
	write := func(s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`; comment
[DEFAULT]
prompt = dflt
[supervisord]
logfile = x
[program:broken]
this line is not checked by supervisorctl = %(nope)s
[supervisorctl]
serverurl = unix://%(here)s/../run/s.sock ; inline comment
USERNAME = %(ENV_CTLTEST_USER)s
password: p#w  # comment
history_file = ~/hist
[supervisorctl]
password = p;w
`)
	st, err := readCtlSection(p, []string{"CTLTEST_USER=bob", "HOME=/home/bob"})
	if err != nil {
		t.Fatal(err)
	}
	home, _ := os.UserHomeDir()
	if *st.serverURL != "unix://"+filepath.Join(filepath.Dir(dir), "run/s.sock") || *st.username != "bob" ||
		*st.password != "p;w" || *st.prompt != "dflt" || *st.historyFile != filepath.Join(home, "hist") {
		t.Errorf("got url %q user %q pass %q prompt %q hist %q", *st.serverURL, *st.username, *st.password, *st.prompt, *st.historyFile)
	}

	write("[supervisorctl]\nserverurl = http://h:1\n  /continued\nprompt = %%x\n")
	st, err = readCtlSection(p, nil)
	if err != nil || *st.serverURL != "http://h:1\n/continued" || *st.prompt != "%x" || st.username != nil {
		t.Errorf("continuation/%%%%: %v %+v", err, st)
	}

	for text, want := range map[string]string{
		"[supervisord]\n":                        ".ini file does not include supervisorctl section",
		"[supervisorctl]\nprompt=%(ENV_NOPE)s\n": "format string '%(ENV_NOPE)s' for 'supervisorctl.prompt' contains names ('ENV_NOPE') which cannot be expanded",
		"[supervisorctl]\nprompt=%d\n":           "format string '%d' for 'supervisorctl.prompt' is badly formatted",
		"[supervisorctl]\njunk\n":                "line 2: not an option",
		"x=1\n":                                  "line 1: option outside a section",
	} {
		write(text)
		if _, err := readCtlSection(p, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", text, err, want)
		}
	}
	if _, err := readCtlSection(filepath.Join(dir, "none"), nil); err == nil || err.Error() != "could not find config file "+filepath.Join(dir, "none") {
		t.Errorf("missing file: %v", err)
	}
}

func TestResolveCtlOptions(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "s.conf")
	os.WriteFile(p, []byte("[supervisorctl]\nserverurl=unix:///a.sock\nusername=u\nprompt=p\n"), 0o644)
	o, err := resolveCtlOptions(ctlFlags{config: &p}, "drover")
	if err != nil || o.serverURL != "unix:///a.sock" || o.username != "u" || o.rpcAuth || o.prompt != "p" {
		t.Errorf("%+v %v", o, err)
	}
	o, _ = resolveCtlOptions(ctlFlags{config: &p, serverURL: strp("http://x:1"), password: strp("")}, "drover")
	if o.serverURL != "http://x:1" || !o.rpcAuth {
		t.Errorf("flags over file: %+v", o)
	}
	// No file found in the search path: supervisorctl's default URL.
	t.Chdir(dir)
	os.Remove(p)
	o, err = resolveCtlOptions(ctlFlags{}, filepath.Join(dir, "bin", "drover"))
	if err != nil || o.serverURL != defaultServerURL && !fileExists("/etc/supervisord.conf") && !fileExists("/etc/supervisor/supervisord.conf") {
		t.Errorf("default: %+v %v", o, err)
	}
	os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	os.WriteFile(filepath.Join(dir, "etc", "supervisord.conf"), []byte("[supervisorctl]\nserverurl=unix:///found.sock\n"), 0o644)
	if o, err := resolveCtlOptions(ctlFlags{}, filepath.Join(dir, "bin", "drover")); err != nil || o.serverURL != "unix:///found.sock" {
		t.Errorf("search: %+v %v", o, err)
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestColumnize(t *testing.T) {
	got := columnize(strings.Fields("add avail clear exit fg maintail open pid quit reload remove reread restart shutdown signal start status stop tail update version"), 79)
	want := []string{
		"add    exit      open  reload  restart   start   tail   ",
		"avail  fg        pid   remove  shutdown  status  update ",
		"clear  maintail  quit  reread  signal    stop    version",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s", strings.Join(got, "\n"))
	}
}
