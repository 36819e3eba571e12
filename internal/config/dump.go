package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Dump is the resolved config in the field names and value forms of the
// corpus reference EXPECTED_supervisor-4.2.5.jsonl ("parsed"), so drover's
// reading and supervisord's compare directly. Differences in form: the
// [supervisord] logfile and pidfile are absolute (4.2 makes them so at
// startup), and user names/uids are as resolved by this host.
type Dump struct {
	Supervisord DumpSupervisord `json:"supervisord"`
	Servers     []DumpServer    `json:"servers"`
	Groups      []DumpGroup     `json:"groups"`
}

// DumpSupervisord is [supervisord] in the reference form.
type DumpSupervisord struct {
	ChildLogDir     string            `json:"childlogdir"`
	Directory       *string           `json:"directory"`
	Environment     map[string]string `json:"environment"`
	Identifier      string            `json:"identifier"`
	Logfile         string            `json:"logfile"`
	LogfileBackups  int               `json:"logfile_backups"`
	LogfileMaxBytes int64             `json:"logfile_maxbytes"`
	LogLevel        string            `json:"loglevel"`
	MinFDs          uint64            `json:"minfds"`
	MinProcs        uint64            `json:"minprocs"`
	NoCleanup       bool              `json:"nocleanup"`
	Nodaemon        bool              `json:"nodaemon"`
	Pidfile         string            `json:"pidfile"`
	Silent          bool              `json:"silent"`
	StripANSI       bool              `json:"strip_ansi"`
	Umask           string            `json:"umask"`
	User            *string           `json:"user"`
}

// DumpServer is one HTTP server in the reference form.
type DumpServer struct {
	Chmod    *int    `json:"chmod,omitempty"`
	Chown    *string `json:"chown,omitempty"`
	Family   int     `json:"family"` // 1 unix, 2 inet (AF_UNIX, AF_INET)
	File     *string `json:"file,omitempty"`
	Host     *string `json:"host,omitempty"`
	Name     *string `json:"name"`
	Port     *int    `json:"port,omitempty"`
	Section  string  `json:"section"`
	Username *string `json:"username"`
}

// DumpGroup is one group in the reference form.
type DumpGroup struct {
	BufferSize *int          `json:"buffer_size,omitempty"`
	Events     []string      `json:"events,omitempty"`
	Name       string        `json:"name"`
	Priority   int           `json:"priority"`
	Processes  []DumpProcess `json:"processes"`
	Socket     *string       `json:"socket,omitempty"`
	Type       string        `json:"type"`
}

// DumpProcess is one process in the reference form.
type DumpProcess struct {
	Autorestart           string            `json:"autorestart"`
	Autostart             bool              `json:"autostart"`
	Command               string            `json:"command"`
	Directory             *string           `json:"directory"`
	Environment           map[string]string `json:"environment"`
	ExitCodes             []int             `json:"exitcodes"`
	KillAsGroup           bool              `json:"killasgroup"`
	Name                  string            `json:"name"`
	Priority              int               `json:"priority"`
	RedirectStderr        bool              `json:"redirect_stderr"`
	ServerURL             *string           `json:"serverurl"`
	StartRetries          int               `json:"startretries"`
	StartSecs             int               `json:"startsecs"`
	StderrLogfile         *string           `json:"stderr_logfile"`
	StderrLogfileBackups  int               `json:"stderr_logfile_backups"`
	StderrLogfileMaxBytes int64             `json:"stderr_logfile_maxbytes"`
	StderrSyslog          bool              `json:"stderr_syslog"`
	StdoutCaptureMaxBytes int64             `json:"stdout_capture_maxbytes"`
	StdoutEventsEnabled   bool              `json:"stdout_events_enabled"`
	StdoutLogfile         *string           `json:"stdout_logfile"`
	StdoutLogfileBackups  int               `json:"stdout_logfile_backups"`
	StdoutLogfileMaxBytes int64             `json:"stdout_logfile_maxbytes"`
	StdoutSyslog          bool              `json:"stdout_syslog"`
	StopAsGroup           bool              `json:"stopasgroup"`
	StopSignal            string            `json:"stopsignal"`
	StopWaitSecs          int               `json:"stopwaitsecs"`
	Umask                 *string           `json:"umask"`
	User                  *string           `json:"user"`
}

func strPtr(s string) *string { return &s }

func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func pyOct(n int) string { return "0o" + strconv.FormatInt(int64(n), 8) }

func envMap(e Env) map[string]string {
	m := make(map[string]string, len(e))
	for _, kv := range e {
		m[kv.Key] = kv.Value
	}
	return m
}

func logName(t LogTarget) *string {
	switch {
	case t.Auto:
		return strPtr("AUTO")
	case t.Path == "":
		return strPtr("NONE")
	}
	return strPtr(t.Path)
}

// Dump returns c in the reference form.
func (c *Config) Dump() Dump {
	s := c.Supervisord
	d := Dump{
		Supervisord: DumpSupervisord{
			ChildLogDir: s.ChildLogDir, Directory: optStr(s.Directory), Environment: envMap(s.Environment),
			Identifier: s.Identifier, Logfile: s.Logfile, LogfileBackups: s.LogfileBackups,
			LogfileMaxBytes: s.LogfileMaxBytes, LogLevel: s.LogLevel.String(), MinFDs: s.MinFDs,
			MinProcs: s.MinProcs, NoCleanup: s.NoCleanup, Nodaemon: s.Nodaemon, Pidfile: s.Pidfile,
			Silent: s.Silent, StripANSI: s.StripANSI, Umask: pyOct(int(s.Umask)), User: optStr(s.User),
		},
		Servers: []DumpServer{},
		Groups:  []DumpGroup{},
	}
	for _, srv := range c.Servers {
		ds := DumpServer{Section: srv.Section}
		if i := strings.IndexByte(srv.Section, ':'); i >= 0 {
			ds.Name = strPtr(srv.Section[i+1:])
		}
		if srv.Username != "" || srv.Password != "" {
			ds.Username = strPtr(srv.Username)
		}
		if srv.Kind == ServerUnix {
			ds.Family = 1
			ds.File = strPtr(srv.File)
			m := int(srv.Chmod)
			ds.Chmod = &m
			ds.Chown = strPtr(fmt.Sprintf("(%d, %d)", srv.ChownUID, srv.ChownGID))
		} else {
			ds.Family = 2
			ds.Host = strPtr(srv.Host)
			p := srv.Port
			ds.Port = &p
		}
		d.Servers = append(d.Servers, ds)
	}
	for _, g := range c.Groups {
		dg := DumpGroup{Name: g.Name, Priority: g.Priority, Type: "ProcessGroupConfig", Processes: []DumpProcess{}}
		switch g.Kind {
		case KindEventListener:
			dg.Type = "EventListenerPoolConfig"
			b := g.BufferSize
			dg.BufferSize = &b
			for _, e := range g.Events {
				dg.Events = append(dg.Events, EventClassName(e))
			}
		case KindFCGIProgram:
			dg.Type = "FastCGIGroupConfig"
			dg.Socket = strPtr(g.Socket)
		}
		for _, p := range g.Processes {
			dg.Processes = append(dg.Processes, p.dump())
		}
		d.Groups = append(d.Groups, dg)
	}
	return d
}

func (p *Process) dump() DumpProcess {
	dp := DumpProcess{
		Autorestart: p.Autorestart.String(), Autostart: p.Autostart, Command: p.Command,
		Directory: optStr(p.Directory), Environment: envMap(p.Environment), ExitCodes: p.ExitCodes,
		KillAsGroup: p.KillAsGroup, Name: p.Name, Priority: p.Priority, RedirectStderr: p.RedirectStderr,
		StartRetries: p.StartRetries, StartSecs: int(p.StartSecs.Seconds()),
		StderrLogfile: logName(p.Stderr), StderrLogfileBackups: p.Stderr.Backups,
		StderrLogfileMaxBytes: p.Stderr.MaxBytes, StderrSyslog: p.Stderr.Syslog,
		StdoutCaptureMaxBytes: p.Stdout.CaptureMaxBytes, StdoutEventsEnabled: p.Stdout.EventsEnabled,
		StdoutLogfile: logName(p.Stdout), StdoutLogfileBackups: p.Stdout.Backups,
		StdoutLogfileMaxBytes: p.Stdout.MaxBytes, StdoutSyslog: p.Stdout.Syslog,
		StopAsGroup: p.StopAsGroup, StopSignal: SignalName(p.StopSignal),
		StopWaitSecs: int(p.StopWait.Seconds()), User: optStr(p.User),
	}
	if dp.ExitCodes == nil {
		dp.ExitCodes = []int{}
	}
	if p.ServerURL != "AUTO" {
		dp.ServerURL = strPtr(p.ServerURL)
	}
	if p.Umask >= 0 {
		dp.Umask = strPtr(pyOct(p.Umask))
	}
	return dp
}
