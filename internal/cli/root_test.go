package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/drover-sh/drover/internal/config"
	"github.com/spf13/cobra"
)

// link makes a symlink to the drover binary called name in a temp dir.
func link(t *testing.T, name string) string {
	t.Helper()
	l := filepath.Join(t.TempDir(), name)
	if err := os.Symlink(droverBinary(t), l); err != nil {
		t.Fatal(err)
	}
	return l
}

// TestVersionOutputs: drover says both versions; linked as supervisord,
// --version prints 4.2.5 alone, as supervisord does; supervisorctl's
// version (and drover ctl's) stays the daemon's answer.
func TestVersionOutputs(t *testing.T) {
	t.Parallel()
	bin := droverBinary(t)
	want := `^drover \S+ \(supervisord 4\.2\.5 compatible\)\n$`
	expect(t, binRun(t, "", bin, "--version"), 0, want)
	expect(t, binRun(t, "", bin, "version"), 0, want)
	expect(t, binRun(t, "", bin, "run", "--version"), 0, want)
	sd := link(t, "supervisord")
	expect(t, binRun(t, "", sd, "--version"), 0, `^4\.2\.5\n$`)
	expect(t, binRun(t, "", sd, "-v"), 0, `^4\.2\.5\n$`)

	d := startDaemon(t, "", program("ok", "sleep"), "ok")
	expect(t, binRun(t, "", link(t, "supervisorctl"), "-c", d.conf, "version"), 0, `^4\.2\.5\n$`)
	expect(t, binRun(t, "", bin, "ctl", "-c", d.conf, "version"), 0, `^4\.2\.5\n$`)
}

// TestUsageErrorsExit2: command-line mistakes exit 2 with supervisord's
// "Error: …" and "For help, use PROG -h"; as supervisord, in its words.
func TestUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	bin := droverBinary(t)
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"--bogus"}, "Error: unknown flag: --bogus\nFor help, use drover -h\n"},
		{[]string{"bogusverb"}, "Error: unknown command \"bogusverb\"\nFor help, use drover -h\n"},
		{[]string{"run", "extra"}, "Error: unexpected argument \"extra\"\nFor help, use drover run -h\n"},
		{[]string{"run", "--bogus"}, "Error: unknown flag: --bogus\nFor help, use drover run -h\n"},
		{[]string{"version", "x"}, "Error: unexpected argument \"x\"\nFor help, use drover version -h\n"},
		{[]string{"check", "-c"}, "Error: flag needs an argument: 'c' in -c\nFor help, use drover check -h\n"},
		{[]string{"help", "bogus"}, "Error: unknown help topic \"bogus\"\nFor help, use drover -h\n"},
	} {
		r := binRun(t, "", bin, c.args...)
		if r.code != 2 || r.err != c.err || r.out != "" {
			t.Errorf("drover %q: exit %d, stderr %q, stdout %q; want 2, %q", c.args, r.code, r.err, r.out, c.err)
		}
	}
	sd := link(t, "supervisord")
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--bogus"}, "option --bogus not recognized"},
		{[]string{"-x"}, "option -x not recognized"},
		{[]string{"-c"}, "option -c requires argument"},
		{[]string{"extra", "more"}, "positional arguments are not supported: ['extra', 'more']"},
	} {
		r := binRun(t, "", sd, c.args...)
		want := "Error: " + c.msg + "\nFor help, use " + sd + " -h\n"
		if r.code != 2 || r.err != want {
			t.Errorf("supervisord %q: exit %d, stderr %q; want 2, %q", c.args, r.code, r.err, want)
		}
	}
}

// TestDaemonRootRunHelp: the daemon parses its command line with a root
// that holds run alone (daemonRoot); run's help and usage errors read as
// with the whole tree, as drover and as supervisord.
func TestDaemonRootRunHelp(t *testing.T) {
	t.Parallel()
	out := func(root *cobra.Command, supervisord bool, args ...string) string {
		run, _, err := root.Find([]string{"run"})
		if err != nil {
			t.Fatal(err)
		}
		if supervisord {
			asSupervisord(run, "supervisord")
		}
		var b bytes.Buffer
		root.SetOut(&b)
		root.SetErr(&b)
		root.SetArgs(append([]string{"run"}, args...))
		err = root.Execute()
		return fmt.Sprintf("%s(%v)", b.String(), err)
	}
	for _, sd := range []bool{false, true} {
		for _, args := range [][]string{{"--help"}, {"-h"}, {"--bogus"}, {"extra"}} {
			whole, alone := out(NewRoot(), sd, args...), out(daemonRoot(), sd, args...)
			if whole != alone || len(whole) < 100 && args[0] == "--help" {
				t.Errorf("supervisord=%v run %q:\n--- whole tree\n%s\n--- daemonRoot\n%s", sd, args, whole, alone)
			}
		}
	}
}

// TestNoConfigFoundExits2: supervisord exits 2 when no config file is
// found at the default paths (and -c is not given).
func TestNoConfigFoundExits2(t *testing.T) {
	var errb bytes.Buffer
	cmd := &cobra.Command{Use: "run"}
	cmd.SetErr(&errb)
	err := startupError(cmd, fmt.Errorf("%w at the default paths (a, b); use -c to name one", config.ErrNotFound))
	if code, ok := err.(ExitCode); !ok || code != 2 {
		t.Fatalf("exit %v, want ExitCode(2)", err)
	}
	if !strings.HasPrefix(errb.String(), "Error: ") || !strings.HasSuffix(errb.String(), "For help, use run -h\n") {
		t.Errorf("message %q", errb.String())
	}
}

// TestVerbHelpIsOneText: `drover help VERB`, `drover VERB -h` and
// `drover VERB --help` print the same text, which lists the client
// options (-c -s -u -p) and --json exactly where the verb takes it.
func TestVerbHelpIsOneText(t *testing.T) {
	t.Parallel()
	bin := droverBinary(t)
	for _, v := range ctlVerbs() {
		if v.name == "version" {
			continue
		}
		a := binRun(t, "", bin, "help", v.name)
		b := binRun(t, "", bin, v.name, "-h")
		c := binRun(t, "", bin, v.name, "--help")
		if a.code != 0 || a.out != b.out || b.out != c.out {
			t.Errorf("%s: help differs:\n--- help %s (exit %d)\n%s\n--- %s -h\n%s\n--- %s --help\n%s", v.name, v.name, a.code, a.out, v.name, b.out, v.name, c.out)
		}
		for _, o := range []string{"-c, --configuration FILE", "-s, --serverurl URL", "-u, --username USER", "-p, --password PASS"} {
			if !strings.Contains(a.out, o) {
				t.Errorf("%s help lacks %q", v.name, o)
			}
		}
		if has := strings.Contains(a.out, "--json"); has != v.json {
			t.Errorf("%s help mentions --json: %v, verb takes it: %v", v.name, has, v.json)
		}
	}
	expect(t, binRun(t, "", bin, "help", "run"), 0, `drover run \[-c FILE\]`)
	expect(t, binRun(t, "", bin, "help"), 0, `Available Commands:`)
	// The root help says where the client options go.
	expect(t, binRun(t, "", bin, "--help"), 0, `-c FILE, -s URL, -u USER,\n-p PASS`)
}

// TestCompletion: cobra's __complete offers program and group names from
// the daemon the options point at, and each verb's own options.
func TestCompletion(t *testing.T) {
	t.Parallel()
	d := startTestDaemon(t)
	bin := droverBinary(t)
	complete := func(args ...string) string {
		t.Helper()
		r := binRun(t, "", bin, append([]string{"__complete"}, args...)...)
		if r.code != 0 {
			t.Fatalf("__complete %q: exit %d: %s", args, r.code, r.err)
		}
		return r.out
	}
	lines := func(s ...string) string { return "^" + regexp.QuoteMeta(strings.Join(s, "\n")+"\n") }
	for _, c := range []struct {
		args []string
		re   string
	}{
		{[]string{"status", "-c", d.conf, ""}, lines("cat", "cat:*", "grp:*", "grp:a", "grp:b", "idle", "idle:*", "ok", "ok:*", "quick", "quick:*", "all", ":4")},
		{[]string{"-c", d.conf, "stop", "gr"}, lines("grp:*", "grp:a", "grp:b", ":4")},
		{[]string{"start", "-c", d.conf, "grp:a", "grp:"}, lines("grp:*", "grp:b", ":4")},
		{[]string{"tail", "-c", d.conf, "-f", ""}, lines("cat", "grp:a", "grp:b", "idle", "ok", "quick", ":4")},
		{[]string{"tail", "-c", d.conf, "ok", ""}, lines("stdout", "stderr", ":4")},
		{[]string{"signal", "-c", d.conf, "US"}, lines("USR1", "USR2", ":4")},
		{[]string{"signal", "-c", d.conf, "HUP", "o"}, lines("ok", "ok:*", ":4")},
		{[]string{"update", "-c", d.conf, ""}, lines("cat", "grp", "idle", "ok", "quick", "all", ":4")},
		{[]string{"status", "--j"}, lines("--json", ":4")},
		{[]string{"start", "--j"}, lines(":4")},
		{[]string{"reload", "--"}, lines("--batch", "--progress", "--configuration", "--serverurl", "--username", "--password", "--password-file", "--cacert", "--cert", "--key", "--help", ":4")},
		{[]string{"status", "-c", ""}, lines(":0")},                                                          // files
		{[]string{"-c", d.conf, "sta"}, "^start\tStart processes\nstatus\tShow process states[^\n]*\n:4\n$"}, // verbs after options
		{[]string{"status", "-s", "unix:///nonexistent.sock", ""}, lines(":4")},
		// drover ctl completes supervisorctl's actions, then what each takes.
		{[]string{"ctl", "-c", d.conf, "sta"}, "^start\tStart processes\nstatus\tShow process states[^\n]*\n:4\n$"},
		{[]string{"ctl", "-c", d.conf, "che"}, lines(":4")},
		{[]string{"ctl", "-c", d.conf, "stop", "gr"}, lines("grp:*", "grp:a", "grp:b", ":4")},
		{[]string{"ctl", "-c", ""}, lines(":0")},
		{[]string{"help", "sta"}, "^start\tStart processes\nstatus\tShow process states[^\n]*\n:4\n$"},
	} {
		if got := complete(c.args...); !regexp.MustCompile(c.re).MatchString(got) {
			t.Errorf("__complete %q:\n%s\nwant %q", c.args, got, c.re)
		}
	}
	// The generated scripts call back into the binary.
	for _, sh := range []string{"bash", "zsh", "fish"} {
		expect(t, binRun(t, "", bin, "completion", sh), 0, `__complete`)
	}
}
