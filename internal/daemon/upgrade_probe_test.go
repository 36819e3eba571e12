package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drover-sh/drover/internal/config"
)

// The probe a new binary runs in an upgrade's preflight reads both handover
// formats: 1, and 2 (with event listeners' protocol state).
func TestHandoverProbeFormats(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "supervisord.conf")
	if err := os.WriteFile(conf, []byte("[supervisord]\n[program:x]\ncommand=/bin/true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1", "2"} {
		if err := HandoverProbe([]string{v, conf}, "test"); err != nil {
			t.Errorf("format %s: %v", v, err)
		}
	}
	for _, v := range []string{"0", "3", "x"} {
		if err := HandoverProbe([]string{v, conf}, "test"); err == nil || !strings.Contains(err.Error(), "not supported") {
			t.Errorf("format %s: %v, want not supported", v, err)
		}
	}
}

// A daemon with event listeners asks the new binary for format 2: a binary
// that reads only format 1 (drover before it) refuses in the preflight.
func TestPreflightAsksForFormat(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "drover-old")
	script := "#!/bin/sh\n[ \"$2\" = 1 ] && { echo drover-handover-ok old; exit 0; }\necho \"handover format \\\"$2\\\" not supported (this binary reads 1)\"\nexit 1\n"
	if err := os.WriteFile(old, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if v, err := preflight(old, "/dev/null", handoverVersion); err != nil || v != "old" {
		t.Errorf("format 1: %q, %v", v, err)
	}
	if _, err := preflight(old, "/dev/null", handoverVersionEvents); err == nil || !strings.Contains(err.Error(), `format "2" not supported`) {
		t.Errorf("format 2 to a binary reading only 1: %v", err)
	}
	if !hasListeners(loadTestConfig(t, "[eventlistener:watch]\ncommand=/bin/cat\nevents=TICK_5\n")) ||
		hasListeners(loadTestConfig(t, "[program:x]\ncommand=/bin/cat\n")) {
		t.Error("hasListeners")
	}
}

func loadTestConfig(t *testing.T, sections string) *config.Config {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "supervisord.conf")
	if err := os.WriteFile(conf, []byte("[supervisord]\n"+sections), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(conf, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
