package daemon

import (
	"fmt"
	"log/slog"
	"log/syslog"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/logfile"
)

// openMainLog sets up the main log: a rotating file (or syslog) in
// supervisord's line format, echoed to stdout with nodaemon unless silent.
func (d *daemon) openMainLog(sd *config.Supervisord) error {
	opts := logfile.HandlerOptions{Level: slogLevel(sd.LogLevel)}
	if sd.Nodaemon && !sd.Silent && d.opts.Stdout != nil {
		opts.Stdout = d.opts.Stdout
	}
	if sd.Logfile == "syslog" {
		w, err := syslog.New(syslog.LOG_INFO|syslog.LOG_USER, "supervisord")
		if err != nil {
			return fmt.Errorf("could not open syslog for logfile=syslog: %w", err)
		}
		opts.Syslog = w
	} else {
		// The writer reports its own write errors to stderr's handler only,
		// never back into itself.
		w, err := logfile.OpenWriter(sd.Logfile, sd.LogfileMaxBytes, sd.LogfileBackups, nil)
		if err != nil {
			return fmt.Errorf("could not open the main log: %w", err)
		}
		d.mainLog = w
		opts.File = w
	}
	d.log = slog.New(logfile.NewHandler(opts))
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

// slogLevel maps supervisord's level names onto the main log's slog levels.
func slogLevel(l config.LogLevel) slog.Level {
	switch {
	case l <= config.LevelBlather:
		return logfile.LevelBlather
	case l <= config.LevelTrace:
		return logfile.LevelTrace
	case l <= config.LevelDebug:
		return logfile.LevelDebug
	case l <= config.LevelInfo:
		return logfile.LevelInfo
	case l <= config.LevelWarn:
		return logfile.LevelWarn
	case l <= config.LevelError:
		return logfile.LevelError
	}
	return logfile.LevelCritical
}
