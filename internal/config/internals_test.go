package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
)

// The expected values in this file were produced by Python 3.11 and
// supervisor 4.2.5 (configparser, shlex, datatypes) on the same inputs.

func TestINIValues(t *testing.T) {
	for _, c := range []struct{ line, want string }{
		{"a=b#c #d ;e", "b#c #d"}, // Python finds ';' in the round before the second '#'
		{"a=x#y ;z", "x#y"},
		{"a=b;c #d ;e", "b;c"},
		{"a=1\t;c", "1"},
		{"a=;x", ";x"},
		{"a= ;x", ""},
		{"a=u#v", "u#v"},
		{"a=p ;q#r", "p"},
		{"a=#x", "#x"},
		{"a : b = c", "b = c"},
		{"A\t=\tv ", "v"},
	} {
		p := newINI()
		if bad := p.read("f", "[s]\n"+c.line+"\n"); len(bad) > 0 {
			t.Fatalf("%q: %v", c.line, bad)
		}
		s := p.byName["s"]
		if len(s.keys) != 1 {
			t.Fatalf("%q: keys %v", c.line, s.keys)
		}
		if got := s.vals[s.keys[0]].text; got != c.want {
			t.Errorf("%q: got %q, want %q", c.line, got, c.want)
		}
	}
}

func TestINIStructure(t *testing.T) {
	p := newINI()
	text := "[a]\nx=1\n  more\n\n  after blank\n\n\n[b]\r\ny=2\r[a]\nX=3\nz=\n [not a header]\n"
	if bad := p.read("f", text); len(bad) > 0 {
		t.Fatal(bad)
	}
	a := p.byName["a"]
	if got := a.vals["x"].text; got != "3" {
		t.Errorf("x: %q (later key wins, keys lower-cased)", got)
	}
	if got := a.vals["z"].text; got != "\n[not a header]" {
		t.Errorf("z: %q (indented line continues, even a header)", got)
	}
	if got := p.byName["b"].vals["y"]; got == nil || got.text != "2" || got.pos.Line != 9 {
		t.Errorf("y: %+v (CR ends a line)", got)
	}
	if !reflect.DeepEqual(a.keys, []string{"x", "z"}) || a.pos.Line != 1 {
		t.Errorf("keys %v pos %v", a.keys, a.pos)
	}
	p = newINI()
	_ = p.read("f", "[a]\nx=1\n  more\n\n  after blank\n\n\n")
	if got := p.byName["a"].vals["x"].text; got != "1\nmore\n\nafter blank" {
		t.Errorf("continuation: %q", got)
	}
}

func TestPyFormat(t *testing.T) {
	d := scope{{"a": strVal("it's"), "n": intVal(7), "neg": intVal(-42), "s": strVal("héllo")}}
	for _, c := range [][2]string{
		{"%(n)02d", "07"}, {"%(n)5d", "    7"}, {"%(n)-5d|", "7    |"}, {"%(n)+d", "+7"},
		{"%(neg)05d", "-0042"}, {"%(n)#x", "0x7"}, {"%(n)#X", "0X7"}, {"%(n)#o", "0o7"},
		{"%(n)o", "7"}, {"%(n).3d", "007"}, {"%(n).2f", "7.00"}, {"%(n)e", "7.000000e+00"},
		{"%(n)g", "7"}, {"%(n)c", "\a"}, {"%(s).2s", "hé"}, {"%(s)8s", "   héllo"},
		{"%(s)-8s|", "héllo   |"}, {"%(a)r", `"it's"`}, {"%(s)a", `'h\xe9llo'`}, {"%(n)s", "7"},
		{"%(n)r", "7"}, {"%(neg) d", "-42"}, {"%(n) d", " 7"}, {"%(a)s%%", "it's%"},
		{"%(n)hd", "7"}, {"%(n)ld", "7"}, {"%(neg)x", "-2a"}, {"%(n)i", "7"}, {"%(n)u", "7"},
		{"%(s)08s", "   héllo"}, {"%(n)010.4f", "00007.0000"}, {"no percent", "no percent"},
	} {
		got, err := pyFormat(c[0], d)
		if err != nil || got != c[1] {
			t.Errorf("%q: got %q, %v; want %q", c[0], got, err, c[1])
		}
	}
	for _, s := range []string{"%", "50%", "%H", "%(x)s", "%(a)d", "%(n", "%(n)*d", "%d", "%(n)y", "%s", "%r", "%-5s"} {
		if _, err := pyFormat(s, d); err == nil {
			t.Errorf("%q: want an error", s)
		}
	}
	for _, s := range []string{"%s", "x %r", "%5a"} {
		if _, err := pyFormat(s, d); !errors.Is(err, ErrPercentS) {
			t.Errorf("%q: %v, want ErrPercentS", s, err)
		}
	}
}

func TestParseEnv(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Env
	}{
		{`A=1,B="x y",C='a,b'`, Env{{"A", "1"}, {"B", "x y"}, {"C", "a,b"}}},
		{"A=1;B=2,", Env{{"A", "1"}, {"B", "2"}}},
		{"A=1,", Env{{"A", "1"}}},
		{`A="",B=''`, Env{{"A", ""}, {"B", ""}}},
		{`"Q"=1`, Env{{`"Q"`, "1"}}},
		{`A=x"y`, Env{{"A", `x"y`}}},
		{`A="it's"`, Env{{"A", "it's"}}},
		{"A=/usr/bin:/bin,B=a.b+c-d(e):f", Env{{"A", "/usr/bin:/bin"}, {"B", "a.b+c-d(e):f"}}},
		{"A==,B=$,C=1", Env{{"A", "="}, {"B", "$"}, {"C", "1"}}},
		{"A=1\n,B=2", Env{{"A", "1"}, {"B", "2"}}},
		{"  A = 1 , B = 2 ", Env{{"A", "1"}, {"B", "2"}}},
		{"A=é", Env{{"A", "é"}}},
		{"A=1,A=2", Env{{"A", "2"}}},
		{"", nil},
	} {
		got, err := parseEnv(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: got %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	// 4.2 silently truncates these; drover refuses them.
	for _, s := range []string{"A=$HOME", "A=a b", "A=ab#cd", "#A=1", `A="x"y`, "A=1 B"} {
		if _, err := parseEnv(s); !errors.Is(err, ErrEnvTruncated) {
			t.Errorf("%q: %v, want ErrEnvTruncated", s, err)
		}
	}
	// 4.2 fails on these too.
	for _, s := range []string{"A=", "A=foo@bar", "A=a*b", `A="open`, "=1", "A", "A=1\nB=2"} {
		if _, err := parseEnv(s); err == nil {
			t.Errorf("%q: want an error", s)
		}
	}
}

func TestShlexSplit(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
		err  error
	}{
		{"a b  c", []string{"a", "b", "c"}, nil},
		{`a "b c" d`, []string{"a", "b c", "d"}, nil},
		{`a 'b "c' d`, []string{"a", `b "c`, "d"}, nil},
		{`a\ b`, []string{"a b"}, nil},
		{`"a\"b"`, []string{`a"b`}, nil},
		{`"a\nb"`, []string{`a\nb`}, nil},
		{`'a\b'`, []string{`a\b`}, nil},
		{`a""b`, []string{"ab"}, nil},
		{"''", []string{""}, nil},
		{"x\ty\nz", []string{"x", "y", "z"}, nil},
		{`é "ü"`, []string{"é", "ü"}, nil},
		{"", nil, nil},
		{`a "b`, nil, ErrNoClosingQuote},
		{`a \`, nil, ErrNoEscapedChar},
		{`"a\`, nil, ErrNoEscapedChar},
	} {
		got, err := shlexSplit(c.in)
		if err != c.err || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: got %q, %v; want %q, %v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestValues(t *testing.T) {
	for in, want := range map[string]int64{"50MB": 50 << 20, "1500 KB": 1500 << 10, "1gb": 1 << 30, "0": 0, " 7 ": 7, "1_024": 1024, "-1": -1} {
		if got, err := byteSize(in); err != nil || got != want {
			t.Errorf("byteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"50M", "1.5MB", "MB", "", "5 0", "1__0"} {
		if _, err := byteSize(in); err == nil {
			t.Errorf("byteSize(%q): want an error", in)
		}
	}
	for in, want := range map[string]os.FileMode{"022": 0o22, "0o27": 0o27, "777": 0o777, "0": 0} {
		if got, err := octal(in); err != nil || got != want {
			t.Errorf("octal(%q) = %o, %v", in, got, err)
		}
	}
	for in, want := range map[string]syscall.Signal{"TERM": 15, "sigterm": 15, "SigHup": 1, "9": 9, " int ": 2, "CLD": 17, "RTMIN": 34, "64": 64} {
		if got, err := signalNumber(in); err != nil || got != want {
			t.Errorf("signalNumber(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"FOO", "0", "32", "65", "SIG", "", "_DFL"} {
		if _, err := signalNumber(in); err == nil {
			t.Errorf("signalNumber(%q): want an error", in)
		}
	}
	if SignalName(17) != "SIGCHLD" || SignalName(6) != "SIGABRT" || SignalName(29) != "SIGIO" {
		t.Errorf("canonical names: %s %s %s", SignalName(17), SignalName(6), SignalName(29))
	}
	for _, s := range []string{"true", "YES", "On", "1"} {
		if b, err := pyBool(s); err != nil || !b {
			t.Errorf("pyBool(%q)", s)
		}
	}
	for _, s := range []string{"false", "NO", "Off", "0"} {
		if b, err := pyBool(s); err != nil || b {
			t.Errorf("pyBool(%q)", s)
		}
	}
	if got, err := exitCodes("0, 1,2"); err != nil || !reflect.DeepEqual(got, []int{0, 1, 2}) {
		t.Errorf("exitCodes: %v %v", got, err)
	}
	for in, want := range map[string][2]any{"127.0.0.1:9001": {"127.0.0.1", 9001}, ":80": {"", 80}, "*:81": {"", 81}, "82": {"", 82}, "Host:83": {"host", 83}} {
		h, p, err := inetAddress(in)
		if err != nil || h != want[0] || p != want[1] {
			t.Errorf("inetAddress(%q) = %q %d %v", in, h, p, err)
		}
	}
}

func TestSuggest(t *testing.T) {
	known := optionDefaults(kindProgram)
	for in, want := range map[string]string{"autorestrat": "autorestart", "numproc": "numprocs", "stderror_logfile": "stderr_logfile", "comand": "command", "zzzzzzzz": ""} {
		got := suggest(in, known)
		if (want == "") != (got == "") || (want != "" && got != "; did you mean "+want+"?") {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
	if got := suggestSection("Program:x"); got != "; section names are case-sensitive: did you mean [program:x]?" {
		t.Errorf("suggestSection: %q", got)
	}
	if got := suggestSection("programs:x"); got != "; did you mean [program:x]?" {
		t.Errorf("suggestSection: %q", got)
	}
}

func TestGlob(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b.conf", "a.conf", ".hidden.conf", "c.ini", "[x].conf"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.conf"), 0o755); err != nil {
		t.Fatal(err)
	}
	got := sortedGlob(filepath.Join(dir, "*.conf"))
	want := []string{"[x].conf", "a.conf", "b.conf", "sub.conf"}
	for i := range want {
		want[i] = filepath.Join(dir, want[i])
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("glob: %v", got)
	}
	if got := sortedGlob(filepath.Join(dir, "[ab].conf")); len(got) != 2 {
		t.Errorf("class: %v", got)
	}
	if got := sortedGlob(filepath.Join(dir, "[!ab].conf")); len(got) != 0 {
		t.Errorf("negated class: %v", got)
	}
	if got := sortedGlob(filepath.Join(dir, ".*.conf")); len(got) != 1 {
		t.Errorf("hidden: %v", got)
	}
	if got := pyJoin("/a", "/etc/x"); got != "/etc/x" {
		t.Errorf("pyJoin: %q", got)
	}
}
