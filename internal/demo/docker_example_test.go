package demo

import (
	"testing"

	"github.com/drover-sh/drover/internal/config"
)

// examples/docker/supervisord.conf is a whole config (the image's): it
// loads with no warnings and uses the container options it documents.
func TestDockerExampleLoads(t *testing.T) {
	cfg, err := config.Load("../../examples/docker/supervisord.conf", config.Options{Host: exampleHost{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range cfg.Warnings {
		t.Errorf("warning: %s:%d: %s", w.Pos.File, w.Pos.Line, w.Msg)
	}
	if !cfg.Supervisord.Nodaemon || cfg.Supervisord.Logfile != "/dev/stdout" || len(cfg.Groups) != 2 {
		t.Fatalf("supervisord %+v, %d groups", cfg.Supervisord, len(cfg.Groups))
	}
	web := cfg.Groups[0].Processes[0].Drover.Container
	if web.ExitDaemonOn != config.ExitDaemonFatal || !web.StdoutConsole || !web.StderrConsole {
		t.Errorf("web's container options: %+v", web)
	}
}
