package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestContainerOptions(t *testing.T) {
	p, warns, err := loadProgram(t, "stdout_console = true\nstderr_console = true\nexit_daemon_on = FATAL\nexit_daemon_code = 3\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("container options warned: %v", warns)
	}
	want := Container{StdoutConsole: true, StderrConsole: true, ExitDaemonOn: ExitDaemonFatal, ExitDaemonCode: 3, HasExitDaemonCode: true}
	if p.Drover.Container != want {
		t.Fatalf("got %+v, want %+v", p.Drover.Container, want)
	}
	p, _, err = loadProgram(t, "exit_daemon_on = exit\n")
	if err != nil || p.Drover.Container != (Container{ExitDaemonOn: ExitDaemonExit}) {
		t.Fatalf("exit: %+v, %v", p.Drover.Container, err)
	}
	p, _, err = loadProgram(t, "")
	if err != nil || p.Drover.Container != (Container{}) {
		t.Fatalf("defaults: %+v, %v", p.Drover.Container, err)
	}
}

func TestContainerOptionErrors(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{"exit_daemon_on = sometimes\n", `supervisord.conf:4: [program:web] exit_daemon_on: "sometimes" is not one of never, fatal, exit`},
		{"exit_daemon_on = fatal\nexit_daemon_code = 256\n", `supervisord.conf:5: [program:web] exit_daemon_code: 256 is out of range: use 0 to 255`},
		{"stdout_console = maybe\n", `supervisord.conf:4: [program:web] stdout_console:`},
	} {
		_, _, err := loadProgram(t, c.body)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err %v, want %q", c.body, err, c.want)
		}
	}
}

func TestContainerOptionWarnings(t *testing.T) {
	p, warns, err := loadProgram(t, "redirect_stderr = true\nstderr_console = true\nexit_daemon_code = 2\n")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range warns {
		got = append(got, w.String())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		"supervisord.conf:5: [program:web] stderr_console: ignored because redirect_stderr=true",
		"supervisord.conf:6: [program:web] exit_daemon_code: has no effect without exit_daemon_on",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
	if p.Drover.Container.StderrConsole {
		t.Error("stderr_console kept with redirect_stderr")
	}
}

// The container options belong to [program:x]: elsewhere they are
// ignored, with a warning.
func TestContainerOptionsOnlyForPrograms(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "supervisord.conf")
	os.WriteFile(conf, []byte("[supervisord]\n[eventlistener:l]\ncommand = /bin/l\nevents = PROCESS_STATE\nexit_daemon_on = fatal\n"), 0o644)
	cfg, err := Load(conf, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0].String(), "supervisord.conf:5: [eventlistener:l] exit_daemon_on: ignored: only [program:x] sections have it") {
		t.Fatalf("warnings %v", cfg.Warnings)
	}
}
