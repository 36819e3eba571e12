package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Command-line options replace the file's [supervisord] values with the same
// typing, without % expansion; a bad one is an error at "command line".
func TestOverridesReplaceSupervisordOptions(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "supervisord.conf")
	os.WriteFile(conf, []byte("[supervisord]\nlogfile = %(here)s/a.log\nloglevel = info\nnodaemon = false\n"), 0o644)
	cfg, err := Load(conf, Options{Overrides: map[string]string{
		"logfile": dir + "/100%.log", "loglevel": "debug", "nodaemon": "true", "logfile_maxbytes": "1MB",
	}})
	if err != nil {
		t.Fatal(err)
	}
	sd := cfg.Supervisord
	if sd.Logfile != dir+"/100%.log" || sd.LogLevel != LevelDebug || !sd.Nodaemon || sd.LogfileMaxBytes != 1<<20 {
		t.Errorf("overrides not applied: %+v", sd)
	}
	_, err = Load(conf, Options{Overrides: map[string]string{"logfile_maxbytes": "50M"}})
	var list ErrorList
	if !errors.As(err, &list) || list[0].Pos.File != "command line" || list[0].Option != "logfile_maxbytes" {
		t.Errorf("bad override error = %v", err)
	}
}
