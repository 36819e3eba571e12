package rpc

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/drover-sh/drover/internal/logfile"
	"github.com/drover-sh/drover/internal/rpc/xmlrpc"
)

func results(rs []Result, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	out := make([]xmlrpc.Struct, len(rs))
	for i, r := range rs {
		out[i] = xmlrpc.Struct{
			{Name: "name", Value: r.Name}, {Name: "group", Value: r.Group},
			{Name: "status", Value: r.Status}, {Name: "description", Value: r.Description},
		}
	}
	return out, nil
}

// delegated keeps the name as the caller wrote it ("g:*") in a BAD_NAME
// from the group method, as supervisord reports it.
func delegated(name string) func(v any, err error) (any, error) {
	return func(v any, err error) (any, error) {
		if rs, ok := v.([]Result); ok && err == nil {
			return results(rs, nil)
		}
		if err != nil && ToFault(err).Code == BadName {
			return nil, NewFault(BadName, name)
		}
		return v, err
	}
}

// nameAndWait reads the (name, wait=true) parameters.
func nameAndWait(a args) (string, bool, error) {
	name, err := a.str(0)
	if err != nil {
		return "", false, err
	}
	wait, err := a.boolOr(1, true)
	return name, wait, err
}

func startProcess(ctx context.Context, d *dispatcher, a args) (any, error) {
	name, wait, err := nameAndWait(a)
	if err != nil {
		return nil, err
	}
	if g, p := splitNamespec(name); p == "" {
		return delegated(name)(d.b.StartProcessGroup(ctx, g, wait))
	}
	return true, d.b.StartProcess(ctx, name, wait)
}

func startProcessGroup(ctx context.Context, d *dispatcher, a args) (any, error) {
	name, wait, err := nameAndWait(a)
	if err != nil {
		return nil, err
	}
	return results(d.b.StartProcessGroup(ctx, name, wait))
}

func startAllProcesses(ctx context.Context, d *dispatcher, a args) (any, error) {
	wait, err := a.boolOr(0, true)
	if err != nil {
		return nil, err
	}
	return results(d.b.StartAllProcesses(ctx, wait))
}

func stopProcess(ctx context.Context, d *dispatcher, a args) (any, error) {
	name, wait, err := nameAndWait(a)
	if err != nil {
		return nil, err
	}
	if g, p := splitNamespec(name); p == "" {
		return delegated(name)(d.b.StopProcessGroup(ctx, g, wait))
	}
	return true, d.b.StopProcess(ctx, name, wait)
}

func stopProcessGroup(ctx context.Context, d *dispatcher, a args) (any, error) {
	name, wait, err := nameAndWait(a)
	if err != nil {
		return nil, err
	}
	return results(d.b.StopProcessGroup(ctx, name, wait))
}

func stopAllProcesses(ctx context.Context, d *dispatcher, a args) (any, error) {
	wait, err := a.boolOr(0, true)
	if err != nil {
		return nil, err
	}
	return results(d.b.StopAllProcesses(ctx, wait))
}

func signalProcess(ctx context.Context, d *dispatcher, a args) (any, error) {
	name, err := a.str(0)
	if err != nil {
		return nil, err
	}
	if g, p := splitNamespec(name); p == "" {
		v, err := signalGroup(ctx, d, g, a[1])
		return delegated(name)(v, err)
	}
	sig, ok := parseSignal(a[1])
	if !ok {
		// BAD_NAME wins over BAD_SIGNAL, as in supervisord.
		if _, err := d.b.ProcessInfo(ctx, name); err != nil {
			return nil, err
		}
		return nil, NewFault(BadSignal, fmt.Sprint(a[1]))
	}
	return true, d.b.SignalProcess(ctx, name, sig)
}

func signalProcessGroup(ctx context.Context, d *dispatcher, a args) (any, error) {
	name, err := a.str(0)
	if err != nil {
		return nil, err
	}
	return signalGroup(ctx, d, name, a[1])
}

func signalAllProcesses(ctx context.Context, d *dispatcher, a args) (any, error) {
	sig, ok := parseSignal(a[0])
	if !ok {
		return badSignalResults(ctx, d, nil, a[0])
	}
	return results(d.b.SignalAllProcesses(ctx, sig))
}

func signalGroup(ctx context.Context, d *dispatcher, group string, sigArg any) (any, error) {
	sig, ok := parseSignal(sigArg)
	if !ok {
		return badSignalResults(ctx, d, &group, sigArg)
	}
	return results(d.b.SignalProcessGroup(ctx, group, sig))
}

// badSignalResults answers a group or "all" signal call with an invalid
// signal the way supervisord does: a BAD_SIGNAL result for each
// signallable process (BAD_NAME for an unknown group).
func badSignalResults(ctx context.Context, d *dispatcher, group *string, sigArg any) (any, error) {
	all, err := d.b.AllProcessInfo(ctx)
	if err != nil {
		return nil, err
	}
	sortInfos(all)
	found := group == nil
	var rs []Result
	for _, pi := range all {
		if group != nil && pi.Group != *group {
			continue
		}
		found = true
		if pi.State.Signallable() {
			rs = append(rs, ResultOf(pi.Name, pi.Group, NewFault(BadSignal, fmt.Sprint(sigArg))))
		}
	}
	if !found {
		return nil, NewFault(BadName, *group)
	}
	return results(rs, nil)
}

// processName reads a name parameter that must denote one process:
// "group:*" is BAD_NAME here.
func processName(a args) (string, error) {
	name, err := a.str(0)
	if err != nil {
		return "", err
	}
	if _, p := splitNamespec(name); p == "" {
		return "", NewFault(BadName, name)
	}
	return name, nil
}

func getProcessInfo(ctx context.Context, d *dispatcher, a args) (any, error) {
	name, err := processName(a)
	if err != nil {
		return nil, err
	}
	pi, err := d.b.ProcessInfo(ctx, name)
	if err != nil {
		return nil, err
	}
	return d.infoStruct(pi), nil
}

func sortInfos(all []ProcessInfo) {
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].Group != all[j].Group {
			return all[i].Group < all[j].Group
		}
		return all[i].Name < all[j].Name
	})
}

func getAllProcessInfo(ctx context.Context, d *dispatcher, _ args) (any, error) {
	all, err := d.b.AllProcessInfo(ctx)
	if err != nil {
		return nil, err
	}
	sortInfos(all)
	out := make([]xmlrpc.Struct, len(all))
	for i, pi := range all {
		out[i] = d.infoStruct(pi)
	}
	return out, nil
}

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

func readStdout(ctx context.Context, d *dispatcher, a args) (any, error) {
	return readProcessLog(ctx, d, a, false)
}

func readStderr(ctx context.Context, d *dispatcher, a args) (any, error) {
	return readProcessLog(ctx, d, a, true)
}

func logPath(pi ProcessInfo, stderr bool) string {
	if stderr {
		return pi.StderrLogfile
	}
	return pi.StdoutLogfile
}

func readProcessLog(ctx context.Context, d *dispatcher, a args, stderr bool) (any, error) {
	name, err := processName(a)
	if err != nil {
		return nil, err
	}
	pi, err := d.b.ProcessInfo(ctx, name)
	if err != nil {
		return nil, err
	}
	return readLogFile(logPath(pi, stderr), a, 1)
}

func tailStdout(ctx context.Context, d *dispatcher, a args) (any, error) {
	return tailProcessLog(ctx, d, a, false)
}

func tailStderr(ctx context.Context, d *dispatcher, a args) (any, error) {
	return tailProcessLog(ctx, d, a, true)
}

// tailProcessLog answers [data, newoffset, overflow]; a missing file is
// [”, 0, false], a read error [”, offset, false], as in supervisord.
func tailProcessLog(ctx context.Context, d *dispatcher, a args, stderr bool) (any, error) {
	name, err := processName(a)
	if err != nil {
		return nil, err
	}
	offset, err := a.int(1)
	if err != nil {
		return nil, err
	}
	length, err := a.int(2)
	if err != nil {
		return nil, err
	}
	pi, err := d.b.ProcessInfo(ctx, name)
	if err != nil {
		return nil, err
	}
	path := logPath(pi, stderr)
	if !exists(path) {
		return []any{"", 0, false}, nil
	}
	data, off, overflow, err := logfile.Tail(path, offset, length)
	if errors.Is(err, logfile.ErrNoFile) {
		return []any{"", 0, false}, nil
	}
	if err != nil {
		return []any{"", offset, false}, nil
	}
	return []any{string(data), off, overflow}, nil
}

func clearProcessLogs(ctx context.Context, d *dispatcher, a args) (any, error) {
	name, err := processName(a)
	if err != nil {
		return nil, err
	}
	return true, d.b.ClearProcessLogs(ctx, name)
}

func clearAllProcessLogs(ctx context.Context, d *dispatcher, _ args) (any, error) {
	return results(d.b.ClearAllProcessLogs(ctx))
}

func sendProcessStdin(ctx context.Context, d *dispatcher, a args) (any, error) {
	var data []byte
	switch v := a[1].(type) {
	case string:
		data = []byte(v)
	case []byte:
		data = v
	default:
		return nil, badParam(a[1])
	}
	name, err := processName(a)
	if err != nil {
		return nil, err
	}
	return true, d.b.SendProcessStdin(ctx, name, data)
}
