package rpc

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/drover-sh/drover/internal/rpc/xmlrpc"
)

// epoch is a timestamp as supervisord sends it: seconds, 0 for never
// (the encoder caps it at 2^31-1).
func epoch(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// infoStruct renders getProcessInfo's struct with supervisord's keys.
func (d *dispatcher) infoStruct(pi ProcessInfo) xmlrpc.Struct {
	now := d.opts.Now()
	return xmlrpc.Struct{
		{Name: "name", Value: pi.Name},
		{Name: "group", Value: pi.Group},
		{Name: "start", Value: epoch(pi.Start)},
		{Name: "stop", Value: epoch(pi.Stop)},
		{Name: "now", Value: now.Unix()},
		{Name: "state", Value: int(pi.State)},
		{Name: "statename", Value: pi.State.String()},
		{Name: "spawnerr", Value: pi.SpawnErr},
		{Name: "exitstatus", Value: pi.ExitStatus},
		{Name: "logfile", Value: pi.StdoutLogfile},
		{Name: "stdout_logfile", Value: pi.StdoutLogfile},
		{Name: "stderr_logfile", Value: pi.StderrLogfile},
		{Name: "pid", Value: pi.PID},
		{Name: "description", Value: Description(pi, now)},
	}
}

// Description is getProcessInfo's description as supervisord words it:
// "pid N, uptime H:MM:SS" when RUNNING, the stop time (local,
// "Jan 02 03:04 PM") or "Not started" when STOPPED/EXITED, the spawn
// error when BACKOFF/FATAL, "" otherwise.
func Description(pi ProcessInfo, now time.Time) string {
	switch pi.State {
	case ProcessRunning:
		up := now.Unix() - epoch(pi.Start)
		if up < 0 {
			up = 0
		}
		return fmt.Sprintf("pid %d, uptime %s", pi.PID, uptime(up))
	case ProcessFatal, ProcessBackoff:
		if pi.SpawnErr != "" {
			return pi.SpawnErr
		}
		return fmt.Sprintf("unknown error (try \"tail %s\")", pi.Name)
	case ProcessStopped, ProcessExited:
		if pi.Start.IsZero() {
			return "Not started"
		}
		return pi.Stop.Local().Format("Jan 02 03:04 PM")
	}
	return ""
}

// uptime formats seconds like Python's str(timedelta).
func uptime(s int64) string {
	days, s := s/86400, s%86400
	hms := fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	switch days {
	case 0:
		return hms
	case 1:
		return "1 day, " + hms
	}
	return fmt.Sprintf("%d days, %s", days, hms)
}

func getAllConfigInfo(ctx context.Context, d *dispatcher, _ args) (any, error) {
	all, err := d.b.AllConfigInfo(ctx)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	out := make([]xmlrpc.Struct, len(all))
	for i, c := range all {
		out[i] = configStruct(c)
	}
	return out, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// configStruct renders getAllConfigInfo's struct (4.2.5 keys and order).
func configStruct(c ConfigInfo) xmlrpc.Struct {
	var uid any = c.UID
	if c.UID < 0 {
		uid = "none"
	}
	codes := c.ExitCodes
	if codes == nil {
		codes = []int{}
	}
	return xmlrpc.Struct{
		{Name: "autostart", Value: c.Autostart},
		{Name: "directory", Value: orNone(c.Directory)},
		{Name: "uid", Value: uid},
		{Name: "command", Value: c.Command},
		{Name: "exitcodes", Value: codes},
		{Name: "group", Value: c.Group},
		{Name: "group_prio", Value: c.GroupPrio},
		{Name: "inuse", Value: c.InUse},
		{Name: "killasgroup", Value: c.KillAsGroup},
		{Name: "name", Value: c.Name},
		{Name: "process_prio", Value: c.ProcessPrio},
		{Name: "redirect_stderr", Value: c.RedirectStderr},
		{Name: "startretries", Value: c.StartRetries},
		{Name: "startsecs", Value: c.StartSecs},
		{Name: "stdout_capture_maxbytes", Value: c.Stdout.CaptureMaxBytes},
		{Name: "stdout_events_enabled", Value: c.Stdout.EventsEnabled},
		{Name: "stdout_logfile", Value: orNone(c.Stdout.Logfile)},
		{Name: "stdout_logfile_backups", Value: c.Stdout.LogfileBackups},
		{Name: "stdout_logfile_maxbytes", Value: c.Stdout.LogfileMaxBytes},
		{Name: "stdout_syslog", Value: c.Stdout.Syslog},
		{Name: "stopsignal", Value: c.StopSignal},
		{Name: "stopwaitsecs", Value: c.StopWaitSecs},
		{Name: "stderr_capture_maxbytes", Value: c.Stderr.CaptureMaxBytes},
		{Name: "stderr_events_enabled", Value: c.Stderr.EventsEnabled},
		{Name: "stderr_logfile", Value: orNone(c.Stderr.Logfile)},
		{Name: "stderr_logfile_backups", Value: c.Stderr.LogfileBackups},
		{Name: "stderr_logfile_maxbytes", Value: c.Stderr.LogfileMaxBytes},
		{Name: "stderr_syslog", Value: c.Stderr.Syslog},
		{Name: "serverurl", Value: orNone(c.ServerURL)},
	}
}
