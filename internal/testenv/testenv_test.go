package testenv

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// helperEnv selects the case TestHelperProcess runs in a child process.
const helperEnv = "TESTENV_HELPER_CASE"

// TestHelperProcess is the child of TestMissing: it runs the case named
// by $TESTENV_HELPER_CASE, and nothing when that is unset.
func TestHelperProcess(t *testing.T) {
	switch os.Getenv(helperEnv) {
	case "":
		return
	case "peer":
		MissingPeer(t, "supervisorctl not installed (%s)", "apt-get install supervisor")
	case "lookpath":
		LookPath(t, "drover-testenv-no-such-program", "apt-get install nothing")
	case "needfile":
		NeedFile(t, "/nonexistent/corpus", "set DROVER_CORPUS")
	case "wantfile":
		if WantFile(t, "/nonexistent/supervisord", "apt-get install supervisor") {
			t.Error("WantFile: true for a missing file")
		}
	case "root":
		needRoot(t, 1000, "chown needs root")
	}
	t.Log("test went on")
}

// TestMissing runs each case in a child test binary, locally and under
// CI, and checks the child's verdict, its message and the skip log.
func TestMissing(t *testing.T) {
	for _, c := range []struct {
		name, msg string
		goesOn    bool // the test continues (WantFile)
	}{
		{"peer", "supervisorctl not installed (apt-get install supervisor)", false},
		{"lookpath", "drover-testenv-no-such-program not installed (apt-get install nothing)", false},
		{"needfile", "/nonexistent/corpus not available (set DROVER_CORPUS)", false},
		{"wantfile", "/nonexistent/supervisord not available (apt-get install supervisor), part of the test skipped", true},
		{"root", "chown needs root", false},
	} {
		marker, inCI := PeerMarker, "peer missing in CI: "
		if c.name == "root" {
			marker, inCI = RootMarker, "not root in CI (.ci/run runs as root): "
		}
		// TestCI covers the other spellings of $CI.
		for _, ci := range []string{"", "true"} {
			t.Run(c.name+"/CI="+ci, func(t *testing.T) {
				t.Parallel()
				log := filepath.Join(t.TempDir(), "skipped.txt")
				out, code := runHelper(t, c.name, ci, log)
				logged, err := os.ReadFile(log)
				if ci == "true" {
					if code == 0 || !strings.Contains(out, "--- FAIL") || !strings.Contains(out, inCI+c.msg) {
						t.Errorf("under CI: exit %d, want a failure saying %q:\n%s", code, inCI+c.msg, out)
					}
					if !errors.Is(err, os.ErrNotExist) {
						t.Errorf("under CI the skip log was written: %q, %v", logged, err)
					}
				} else {
					want, verdict := marker+": "+c.msg, "--- SKIP"
					if c.goesOn {
						verdict = "--- PASS"
					}
					if code != 0 || !strings.Contains(out, verdict) || !strings.Contains(out, want) {
						t.Errorf("locally: exit %d, want %s saying %q:\n%s", code, verdict, want, out)
					}
					prefix := "internal/testenv TestHelperProcess: " + want
					if err != nil || strings.Count(string(logged), "\n") != 1 || !strings.HasPrefix(string(logged), prefix) {
						t.Errorf("skip log %q (%v), want one line starting %q", logged, err, prefix)
					}
				}
				if went := strings.Contains(out, "test went on"); went != c.goesOn {
					t.Errorf("test went on: %v, want %v:\n%s", went, c.goesOn, out)
				}
			})
		}
	}
}

// runHelper runs TestHelperProcess for one case with $CI set to ci and
// the skip log at log, and returns its output and exit status.
func runHelper(t *testing.T, name, ci, log string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+name, "CI="+ci, SkipLogEnv+"="+log)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running the helper: %v", err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// TestPresent checks that present peers and root end nothing.
func TestPresent(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "peer")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	if got := LookPath(t, "peer", "apt-get install peer"); got != prog {
		t.Errorf("LookPath = %q, want %q", got, prog)
	}
	NeedFile(t, prog, "none")
	if !WantFile(t, prog, "none") {
		t.Error("WantFile: false for a present file")
	}
	needRoot(t, 0, "root")
}

func TestCI(t *testing.T) {
	for v, want := range map[string]bool{"": false, "false": false, "0": false, "true": true, "1": true, "yes": true} {
		t.Setenv("CI", v)
		if CI() != want {
			t.Errorf("CI=%q: CI() = %v, want %v", v, !want, want)
		}
	}
}
