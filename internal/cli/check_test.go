package cli

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drover-sh/drover/internal/config"
)

func runCheck(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := newCheckCmd()
	var out, errOut strings.Builder
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "supervisord.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckValid(t *testing.T) {
	p := writeFile(t, "[supervisord]\nlogfile=/tmp/x.log\npidfile=/tmp/x.pid\n[program:web]\ncommand=/bin/true\nautorestrat=true\n")
	out, errOut, err := runCheck(t, "-c", p)
	if err != nil {
		t.Fatalf("err %v, stderr %s", err, errOut)
	}
	if !strings.Contains(out, "valid (1 files, 1 groups, 1 processes, 1 warnings)") {
		t.Errorf("stdout: %q", out)
	}
	if !strings.Contains(errOut, p+":6: [program:web] autorestrat: unknown option") || !strings.Contains(errOut, "did you mean autorestart?") {
		t.Errorf("stderr: %q", errOut)
	}
	out, _, err = runCheck(t, "-c", p, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Groups []struct {
			Name      string `json:"name"`
			Type      string `json:"type"`
			Processes []struct {
				Command string `json:"command"`
			} `json:"processes"`
		} `json:"groups"`
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(d.Groups) != 1 || d.Groups[0].Type != "ProcessGroupConfig" || d.Groups[0].Processes[0].Command != "/bin/true" {
		t.Errorf("json: %+v", d)
	}
}

func TestCheckInvalid(t *testing.T) {
	p := writeFile(t, "[supervisord]\n[program:a]\ncommand=/bin/echo 50%\n[program:b]\nnumprocs=2\ncommand=/bin/true\n")
	_, errOut, err := runCheck(t, "-c", p)
	var code ExitCode
	if !errors.As(err, &code) || code != 2 {
		t.Fatalf("err = %v, want ExitCode(2)", err)
	}
	for _, want := range []string{p + ":3: [program:a] command:", p + ":5: [program:b] process_name:", "invalid (2 error(s))"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

// An empty command= is refused by check with its line; run still loads it,
// as supervisord 4.2 does (every start then fails with "bad command").
func TestCheckEmptyCommand(t *testing.T) {
	p := writeFile(t, "[supervisord]\n[program:a]\ncommand=/bin/true\n[program:b]\ncommand=\n")
	_, errOut, err := runCheck(t, "-c", p)
	var code ExitCode
	if !errors.As(err, &code) || code != 2 {
		t.Fatalf("err = %v, want ExitCode(2)", err)
	}
	if want := p + ":5: [program:b] command: the command is empty"; !strings.Contains(errOut, want) {
		t.Errorf("stderr lacks %q:\n%s", want, errOut)
	}
	if strings.Contains(errOut, "warning: "+p+":5") {
		t.Errorf("the rejection is also printed as a warning:\n%s", errOut)
	}
	cfg, err := config.Load(p, config.Options{})
	if err != nil {
		t.Fatalf("Load refuses what supervisord loads: %v", err)
	}
	if got := cfg.Groups[1].Processes[0].ArgvErr; got != "command is empty" {
		t.Errorf("ArgvErr = %q", got)
	}
}
