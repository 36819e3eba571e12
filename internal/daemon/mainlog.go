package daemon

import (
	"fmt"
	"io"
	"log/syslog"
	"os"

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
	same := d.console != nil && isEcho(sd.Logfile, d.opts.Stdout)
	if sd.Nodaemon && !sd.Silent && d.console != nil && !same {
		// Through the console, so the echo and programs' console lines
		// never land inside each other.
		c.Stdout = d.console.Stdout()
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
	if same && ml.File != nil {
		ml.File.Serialize(d.console.Locker()) // the file is the console's
	}
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

// isEcho reports whether the main log file is where the nodaemon echo
// goes, or drover's stderr: logfile=/dev/stdout (or /proc/self/fd/1, or
// the same file by another name) with -n, the usual container recipe,
// would otherwise print every line twice. Files are compared by device and
// inode, so every spelling of the same file counts.
func isEcho(logfile string, echo io.Writer) bool {
	f, ok := echo.(*os.File)
	if !ok || logfile == "syslog" {
		return false
	}
	lf, err := os.Stat(logfile)
	if err != nil {
		return false
	}
	for _, s := range []*os.File{f, os.Stderr} {
		if fi, err := s.Stat(); err == nil && os.SameFile(lf, fi) {
			return true
		}
	}
	return false
}
