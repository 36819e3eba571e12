package daemon

import "github.com/drover-sh/drover/internal/config"

// applyOverrides applies the boolean command-line options that change how
// the daemon runs. (The others are applied by config.Load.)
func applyOverrides(sd *config.Supervisord, o map[string]string) {
	if o["nodaemon"] == "true" {
		sd.Nodaemon = true
	}
	if o["silent"] == "true" {
		sd.Silent = true
	}
	if o["nocleanup"] == "true" {
		sd.NoCleanup = true
	}
	if o["strip_ansi"] == "true" {
		sd.StripANSI = true
	}
}
