package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPagesAndCompletions generates everything into a temp dir: a page per
// visible command with the sections man needs, the verbs' options in
// theirs, and the three completion scripts.
func TestPagesAndCompletions(t *testing.T) {
	man, comp := t.TempDir(), t.TempDir()
	if err := run(man, comp, "2026-01-02"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"drover", "drover-run", "drover-status", "drover-ctl", "drover-check", "drover-version"} {
		b, err := os.ReadFile(filepath.Join(man, name+".1"))
		if err != nil {
			t.Fatal(err)
		}
		page := string(b)
		for _, want := range []string{`.TH "` + strings.ToUpper(name) + `" 1 "2026-01-02"`, "\n.SH NAME\n" + strings.ReplaceAll(name, "-", `\-`) + ` \- `, "\n.SH SYNOPSIS\n", "\n.SH SEE ALSO\n"} {
			if !strings.Contains(page, want) {
				t.Errorf("%s.1 lacks %q:\n%s", name, want, page)
			}
		}
	}
	status, _ := os.ReadFile(filepath.Join(man, "drover-status.1"))
	if !strings.Contains(string(status), "-c, --configuration FILE") || !strings.Contains(string(status), "--json") {
		t.Errorf("drover-status.1 lacks the options:\n%s", status)
	}
	run, _ := os.ReadFile(filepath.Join(man, "drover-run.1"))
	if !strings.Contains(string(run), `\fB\-n\fR, \fB\-\-nodaemon\fR`) {
		t.Errorf("drover-run.1 lacks -n:\n%s", run)
	}
	if _, err := os.Stat(filepath.Join(man, "drover-help.1")); !os.IsNotExist(err) {
		t.Errorf("a page for cobra's help command: %v", err)
	}
	for _, f := range []string{"drover.bash", "_drover", "drover.fish"} {
		if b, err := os.ReadFile(filepath.Join(comp, f)); err != nil || !strings.Contains(string(b), "__complete") {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestRoffEscapes(t *testing.T) {
	if got := escLine(`.hidden \n`); got != `\&.hidden \en` {
		t.Errorf("escLine: %q", got)
	}
	if got := esc("-c 'x"); got != `\-c 'x` {
		t.Errorf("esc: %q", got)
	}
}
