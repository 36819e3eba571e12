package rpc

import (
	"github.com/drover-sh/drover/internal/supervisor"

	"context"
	"sort"
	"strconv"
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
func (d *dispatcher) infoStruct(pi ProcessInfo) xmlrpc.Appender {
	return infoValue{pi: pi, now: d.opts.Now()}
}

// droverInfoStruct is infoStruct plus drover's members.
func (d *dispatcher) droverInfoStruct(pi ProcessInfo) xmlrpc.Appender {
	return infoValue{pi: pi, now: d.opts.Now(), drover: true}
}

// infoValue is getProcessInfo's struct (with drover's members for
// drover.getProcessInfo). It encodes itself member by member: a
// 500-program getAllProcessInfo has 7,000 members, and building them as
// an xmlrpc.Struct of boxed values cost more than writing them.
type infoValue struct {
	pi     ProcessInfo
	now    time.Time
	drover bool
}

// infoList is getAllProcessInfo's array of infoValue.
type infoList struct {
	all    []ProcessInfo
	now    time.Time
	drover bool
}

func (l infoList) AppendXMLRPC(dst []byte, depth int) ([]byte, error) {
	dst = append(dst, "<value><array><data>\n"...)
	for _, pi := range l.all {
		dst, _ = infoValue{pi: pi, now: l.now, drover: l.drover}.AppendXMLRPC(dst, depth+1)
		dst = append(dst, '\n')
	}
	return append(dst, "</data></array></value>"...), nil
}

func (v infoValue) AppendXMLRPC(dst []byte, _ int) ([]byte, error) {
	pi := &v.pi
	str := func(name, val string) {
		dst = xmlrpc.AppendMemberName(dst, name)
		dst = xmlrpc.AppendString(dst, val)
		dst = append(dst, "\n</member>\n"...)
	}
	num := func(name string, val int64) {
		dst = xmlrpc.AppendMemberName(dst, name)
		dst = xmlrpc.AppendInt(dst, val)
		dst = append(dst, "\n</member>\n"...)
	}
	dst = append(dst, "<value><struct>\n"...)
	str("name", pi.Name)
	str("group", pi.Group)
	num("start", epoch(pi.Start))
	num("stop", epoch(pi.Stop))
	num("now", v.now.Unix())
	num("state", int64(pi.State))
	str("statename", pi.State.String())
	str("spawnerr", pi.SpawnErr)
	num("exitstatus", int64(pi.ExitStatus))
	str("logfile", pi.StdoutLogfile)
	str("stdout_logfile", pi.StdoutLogfile)
	str("stderr_logfile", pi.StderrLogfile)
	num("pid", int64(pi.PID))
	dst = xmlrpc.AppendMemberName(dst, "description")
	dst = append(dst, "<value><string>"...)
	dst = appendDescription(dst, *pi, v.now, xmlrpc.AppendText)
	dst = append(dst, "</string></value>\n</member>\n"...)
	if v.drover {
		num("generation", int64(pi.Generation))
		num("reexecs", int64(pi.Reexecs))
		num("prev_pid", int64(pi.PrevPID))
		num("handoff_pid", int64(pi.HandoffPID))
		str("reloading", pi.Reloading)
		str("config_pending", pi.Pending)
		str("waiting", pi.Waiting)
		str("strategy", pi.Strategy)
	}
	return append(dst, "</struct></value>"...), nil
}

// statusList is drover.getAllProcessStatus's array of arrays.
type statusList struct {
	all []ProcessInfo
	now time.Time
}

func (l statusList) AppendXMLRPC(dst []byte, _ int) ([]byte, error) {
	dst = append(dst, "<value><array><data>\n"...)
	for i := range l.all {
		pi := &l.all[i]
		dst = append(dst, "<value><array><data>\n"...)
		dst = append(xmlrpc.AppendString(dst, pi.Group), '\n')
		dst = append(xmlrpc.AppendString(dst, pi.Name), '\n')
		dst = append(xmlrpc.AppendInt(dst, int64(pi.State)), '\n')
		dst = append(xmlrpc.AppendString(dst, pi.State.String()), '\n')
		dst = append(dst, "<value><string>"...)
		dst = appendDescription(dst, *pi, l.now, xmlrpc.AppendText)
		dst = append(dst, "</string></value>\n"...)
		dst = append(xmlrpc.AppendInt(dst, int64(pi.Generation)), '\n')
		dst = append(xmlrpc.AppendInt(dst, int64(pi.HandoffPID)), '\n')
		dst = append(dst, "</data></array></value>\n"...)
	}
	return append(dst, "</data></array></value>"...), nil
}

// appendDescription appends getProcessInfo's description as supervisord
// words it: "pid N, uptime H:MM:SS" when RUNNING, the stop time (local,
// "Jan 02 03:04 PM") or "Not started" when STOPPED/EXITED, the spawn error
// when BACKOFF/FATAL, "" otherwise. text appends the parts that come from
// outside (the spawn error, the name), so that the encoder can escape
// them.
func appendDescription(dst []byte, pi ProcessInfo, now time.Time, text func([]byte, string) []byte) []byte {
	switch pi.State {
	case supervisor.Running:
		up := max(now.Unix()-epoch(pi.Start), 0)
		dst = append(dst, "pid "...)
		dst = strconv.AppendInt(dst, int64(pi.PID), 10)
		dst = append(dst, ", uptime "...)
		dst = appendUptime(dst, up)
		if pi.Pending != "" {
			// drover's: an update whose hand-off failed left the previous
			// config serving.
			dst = append(dst, ", config pending: "...)
			dst = text(dst, pi.Pending)
		}
		return dst
	case supervisor.Fatal, supervisor.Backoff:
		if pi.SpawnErr != "" {
			return text(dst, pi.SpawnErr)
		}
		dst = append(dst, "unknown error (try \"tail "...)
		dst = text(dst, pi.Name)
		return append(dst, "\")"...)
	case supervisor.Stopped, supervisor.Exited:
		if pi.Start.IsZero() {
			dst = append(dst, "Not started"...)
			if pi.Waiting != "" {
				// drover's: held by depends_on.
				dst = append(dst, ", "...)
				dst = text(dst, pi.Waiting)
			}
			return dst
		}
		// Started but never exited (stopped from BACKOFF): supervisord
		// formats its stop time 0, the epoch.
		return time.Unix(epoch(pi.Stop), 0).Local().AppendFormat(dst, "Jan 02 03:04 PM")
	}
	return dst
}

// appendUptime formats seconds like Python's str(timedelta).
func appendUptime(dst []byte, s int64) []byte {
	days, s := s/86400, s%86400
	switch {
	case days == 1:
		dst = append(dst, "1 day, "...)
	case days != 0:
		dst = strconv.AppendInt(dst, days, 10)
		dst = append(dst, " days, "...)
	}
	dst = strconv.AppendInt(dst, s/3600, 10)
	dst = append(dst, ':', byte('0'+s/60%60/10), byte('0'+s/60%60%10), ':', byte('0'+s%60/10), byte('0'+s%60%10))
	return dst
}

func getAllConfigInfo(ctx context.Context, d *dispatcher, _ args) (any, error) {
	all, err := d.b.AllConfigInfo(ctx)
	if err != nil {
		return nil, err
	}
	all = visibleConfigs(ctx, all)
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
