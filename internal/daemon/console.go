package daemon

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/logfile"
)

// consoleSink copies the channel's lines to drover's own stdout (stderr)
// when the program asks for it and drover runs in the foreground, behind
// the process name: "web | line", or "group:name | line" in a group.
func (h *host) consoleSink(sink *logfile.Sink, p *config.Process, channel string) {
	c := p.Drover.Container
	if h.console == nil || !(channel == "stdout" && c.StdoutConsole || channel == "stderr" && c.StderrConsole) {
		return
	}
	sink.Console = h.console.Stdout()
	if channel == "stderr" {
		sink.Console = h.console.Stderr()
	}
	name := p.Name
	if p.Group != p.Name {
		name = p.Group + ":" + p.Name
	}
	sink.ConsolePrefix = name + " | "
}

// warnConsoleDetached says once that stdout_console and stderr_console do
// nothing in a detached daemon (its stdout is /dev/null).
func warnConsoleDetached(log *slog.Logger, cfg *config.Config) {
	var names []string
	for _, g := range cfg.Groups {
		for _, p := range g.Processes {
			if c := p.Drover.Container; c.StdoutConsole || c.StderrConsole {
				names = append(names, p.Name)
			}
		}
	}
	if len(names) > 0 {
		log.Warn(fmt.Sprintf("stdout_console/stderr_console of %s have no effect: drover is not running in the foreground (nodaemon=false)", strings.Join(names, ", ")))
	}
}
