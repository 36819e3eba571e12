package daemon

import (
	"fmt"
	"log/syslog"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/logfile"
)

// openMainLog sets up the main log: a rotating file (or syslog) in
// supervisord's line format, echoed to stdout with nodaemon unless silent.
func (d *daemon) openMainLog(sd *config.Supervisord) error {
	c := logfile.MainLogConfig{
		Path:     sd.Logfile,
		MaxBytes: sd.LogfileMaxBytes,
		Backups:  sd.LogfileBackups,
		Level:    logfile.LevelFromNumber(int(sd.LogLevel)),
	}
	if sd.Nodaemon && !sd.Silent && d.opts.Stdout != nil {
		c.Stdout = d.opts.Stdout
	}
	if sd.Logfile == "syslog" {
		w, err := syslog.New(syslog.LOG_INFO|syslog.LOG_USER, "supervisord")
		if err != nil {
			return fmt.Errorf("could not open syslog for logfile=syslog: %w", err)
		}
		c.Syslog = w
	}
	ml, err := logfile.OpenMainLog(c)
	if err != nil {
		return fmt.Errorf("could not open the main log: %w", err)
	}
	d.log, d.mainLog = ml.Logger, ml.File
	return nil
}

func (d *daemon) closeMainLog() {
	if d.mainLog != nil {
		d.mainLog.Close()
	}
}

func (d *daemon) mainLogPath() string {
	if d.mainLog == nil {
		return ""
	}
	return d.mainLog.Path()
}
