package spawn

import (
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A direct spawn (no shim) still gives the child its own process group,
// the environment and the directory, and reports a missing directory and a
// failed exec synchronously with supervisord's words.
func TestStartDirect(t *testing.T) {
	// PrepareDirect changes the whole process's descriptors: run apart.
	if os.Getenv(reaperChildEnv) == "" {
		runInSubprocess(t, "TestStartDirect")
		return
	}
	// As the daemon does: a background job or nohup starts it with SIGINT,
	// SIGQUIT or SIGHUP ignored; handling them clears that.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP)
	if !PrepareDirect() {
		t.Skip("this test process has ignored or blocked signals")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	spec := &Spec{Path: "/bin/sh", Argv: []string{"sh", "-c", `echo "$$ $(ps -o pgid= -p $$) $PWD $X"`},
		Env: []string{"X=direct", "PATH=/bin:/usr/bin"}, Dir: dir, Umask: -1, Stdout: f, Direct: true}
	pid, err := Start(spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := waitPid(pid, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	fields := strings.Fields(string(b))
	if len(fields) != 4 || fields[0] != fields[1] || fields[2] != dir || fields[3] != "direct" {
		t.Errorf("child reported %q; want its pid twice (own group), %s, direct", b, dir)
	}
	spec.Dir = filepath.Join(dir, "missing")
	if _, err := Start(spec); err == nil || !strings.Contains(err.Error(), "couldn't chdir to "+spec.Dir+": ENOENT") {
		t.Errorf("missing dir: %v", err)
	}
	spec.Dir, spec.Path = dir, filepath.Join(dir, "nope")
	if _, err := Start(spec); err == nil || !strings.Contains(err.Error(), "couldn't exec "+spec.Path+": ENOENT") {
		t.Errorf("missing program: %v", err)
	}
}
