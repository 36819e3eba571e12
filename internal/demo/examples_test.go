package demo

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/drover-sh/drover/internal/config"
)

// exampleHost is a machine with the user (app) and log directories the
// examples assume, so the test checks the files, not this machine.
type exampleHost struct{ config.OSHost }

func (exampleHost) LookupUser(string) (*config.UserInfo, error) {
	return &config.UserInfo{Name: "app", UID: 1000, GID: 1000, HomeDir: "/home/app"}, nil
}
func (exampleHost) IsDir(string) bool { return true }

// Every file in examples/ is a conf.d fragment: it must load, included from
// a main file as in /etc/supervisor/conf.d, with no errors and no warnings.
func TestExamplesLoadWithoutWarnings(t *testing.T) {
	files, _ := filepath.Glob("../../examples/*.conf")
	if len(files) == 0 {
		t.Fatal("no examples found")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			abs, _ := filepath.Abs(f)
			main := filepath.Join(t.TempDir(), "supervisord.conf")
			os.WriteFile(main, []byte("[supervisord]\n[include]\nfiles = "+abs+"\n"), 0o644)
			cfg, err := config.Load(main, config.Options{Host: exampleHost{}})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range cfg.Warnings {
				t.Errorf("warning: %s:%d: %s", w.Pos.File, w.Pos.Line, w.Msg)
			}
			if len(cfg.Groups) == 0 {
				t.Errorf("no programs")
			}
		})
	}
}

func TestDemoConfigLoads(t *testing.T) {
	dir := t.TempDir()
	path, err := WriteConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, config.Options{Env: []string{"DROVER_DEMO_BIN=/bin/drover", "DROVER_DEMO_PORT=18080"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Warnings) != 0 || len(cfg.Groups) != 2 {
		t.Errorf("warnings %v, %d groups", cfg.Warnings, len(cfg.Groups))
	}
	if got := cfg.Groups[0].Processes[0].Argv; len(got) < 2 || got[0] != "/bin/drover" || got[1] != "demo-app" {
		t.Errorf("web argv %q", got)
	}
}
