package demo

import (
	_ "embed"
	"os"
	"path/filepath"
)

//go:embed demo.conf
var demoConf []byte

// WriteConfig writes the demo config into dir (with a logs/ directory
// beside it) and returns its path. The config reads the drover binary and
// the web port from DROVER_DEMO_BIN and DROVER_DEMO_PORT.
func WriteConfig(dir string) (string, error) {
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "supervisord.conf")
	return path, os.WriteFile(path, demoConf, 0o644)
}
