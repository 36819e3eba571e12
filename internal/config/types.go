// Package config reads supervisord.conf files exactly as supervisord 4.2
// does and turns them into typed, validated structs with every default set.
//
// The pipeline is: text → sections with file:line (ini.go, the INI dialect
// of Python's RawConfigParser) → [include] (load.go, glob.go) → Python %
// expansion (pyformat.go) and shlex (shlex.go) → typed, validated structs
// (this file, filled by build_*.go; defaults in defaults.go). Load is the
// entry point; docs/config.md describes the dialect.
package config

import (
	"os"
	"syscall"
	"time"
)

// Pos is a place in a config file, used in every error and warning.
type Pos struct {
	File string
	Line int
}

// Config is a whole parsed configuration: the main file plus its includes.
type Config struct {
	// File is the main config file's absolute path.
	File string
	// Files lists every file read, main file first, in read order.
	Files []string

	Supervisord Supervisord
	// Servers holds the [inet_http_server*] sections, then the
	// [unix_http_server*] ones, each in file order (4.2's order).
	Servers       []Server
	Supervisorctl Supervisorctl
	// Groups are sorted by (Priority, Name), the order supervisord uses for
	// autostart; shutdown walks them in reverse.
	Groups []*Group
	// Access is drover's own [access:x] and [user:x] sections.
	Access Access

	// Warnings are non-fatal findings (unknown keys, globs matching
	// nothing, redirect_stderr with stderr_logfile, ...).
	Warnings []Warning
}

// Warning is a non-fatal finding with its place.
type Warning struct {
	Pos     Pos
	Section string
	Option  string
	Msg     string
	// Rejected marks what supervisord loads but can never run (an empty
	// command=): drover loads it too, as a drop-in must, and `drover
	// check` rejects it as an error.
	Rejected bool
}

// Supervisord is the [supervisord] section.
type Supervisord struct {
	Logfile         string // "syslog" means syslog; default $CWD/supervisord.log
	LogfileMaxBytes int64
	LogfileBackups  int
	LogLevel        LogLevel
	Pidfile         string
	Umask           os.FileMode // applied only when daemonizing
	Nodaemon        bool
	Silent          bool
	MinFDs          uint64
	MinProcs        uint64
	NoCleanup       bool
	ChildLogDir     string
	User            string // empty: none
	Directory       string // empty: none; chdir only when daemonizing
	StripANSI       bool
	Environment     Env // [supervisord] environment=, in file order
	Identifier      string
}

// LogLevel is supervisord's level scale; lower is more verbose.
type LogLevel int

// Levels as supervisord numbers them (loggers.LevelsByName).
const (
	LevelBlather  LogLevel = 3
	LevelTrace    LogLevel = 5
	LevelDebug    LogLevel = 10
	LevelInfo     LogLevel = 20
	LevelWarn     LogLevel = 30
	LevelError    LogLevel = 40
	LevelCritical LogLevel = 50
)

// ServerKind tells unix and inet HTTP servers apart.
type ServerKind int

const (
	ServerUnix ServerKind = iota
	ServerInet
)

// Server is one [unix_http_server*] or [inet_http_server*] section.
type Server struct {
	Pos      Pos
	Section  string // the section name as written, e.g. "inet_http_server:x"
	Kind     ServerKind
	File     string      // unix: socket path
	Chmod    os.FileMode // unix: default 0700
	ChownUID int         // unix: -1 when unchanged
	ChownGID int         // unix: -1 when unchanged
	Host     string      // inet: "" or "*" means all interfaces
	Port     int         // inet
	Username string      // "" when no auth
	Password string      // cleartext or "{SHA}<hex>"
	// TLSCert and TLSKey make an inet server speak HTTPS (drover's own
	// tls_cert, tls_key); TLSClientCA requires client certificates that
	// chain to it, their common name being the user (tls_client_ca).
	TLSCert, TLSKey, TLSClientCA string
}

// Supervisorctl is the [supervisorctl] section (read by the CLI only).
type Supervisorctl struct {
	Present     bool
	ServerURL   string // default "http://localhost:9001"
	Username    string
	Password    string
	Prompt      string // default "supervisor"
	HistoryFile string
	// Err holds problems in [supervisorctl] (supervisorctl would refuse
	// them; the daemon ignores the section). They are also warnings.
	Err error
}

// GroupKind is the section kind a group came from.
type GroupKind int

const (
	KindProgram       GroupKind = iota // [program:x] (a group of its own)
	KindGroup                          // [group:x] over programs
	KindEventListener                  // [eventlistener:x]
	KindFCGIProgram                    // [fcgi-program:x]
)

// Group is a process group: a [group:x], or a program that forms its own
// group of the same name.
type Group struct {
	Pos      Pos
	Name     string
	Kind     GroupKind
	Priority int
	// Processes are sorted by (Priority, Name).
	Processes []*Process

	// Event listener pool options (KindEventListener only).
	Events        []string
	BufferSize    int
	ResultHandler string

	// FCGI socket (KindFCGIProgram only).
	Socket        string
	SocketBacklog int
	SocketOwner   string // socket_owner as written
	// SocketOwnerUID/GID are socket_owner resolved, or for a unix socket
	// without socket_owner the program's user when it differs from the
	// daemon's; -1 when unchanged.
	SocketOwnerUID int
	SocketOwnerGID int
	SocketMode     os.FileMode
}

// Autorestart is the autorestart option.
type Autorestart int

const (
	AutorestartUnexpected Autorestart = iota
	AutorestartTrue
	AutorestartFalse
)

// String returns the value as supervisord's config would spell it.
func (a Autorestart) String() string {
	switch a {
	case AutorestartTrue:
		return "true"
	case AutorestartFalse:
		return "false"
	}
	return "unexpected"
}

// LogTarget is where one output stream of a process goes.
type LogTarget struct {
	// Path is the resolved file path; "" with Auto=false means NONE.
	// With Auto, Path is filled when the daemon creates the group.
	Path     string
	Auto     bool
	MaxBytes int64
	Backups  int
	// CaptureMaxBytes > 0 turns on capture mode.
	CaptureMaxBytes int64
	EventsEnabled   bool
	Syslog          bool
}

// Process is one process of a program, after numprocs expansion and with
// every per-process option expanded.
type Process struct {
	Pos         Pos
	Name        string // process_name, expanded
	Program     string // the section's program name
	Group       string // owning group name
	ProcessNum  int
	Command     string   // as written, after % expansion
	Argv        []string // command split like shlex (POSIX); nil if it fails
	ArgvErr     string   // shlex error ("No closing quotation"); spawn error at start
	Priority    int
	Autostart   bool
	Autorestart Autorestart
	//lint:ignore ST1011 named after supervisord's startsecs option
	StartSecs      time.Duration
	StartRetries   int
	ExitCodes      []int
	StopSignal     syscall.Signal
	StopWait       time.Duration
	StopAsGroup    bool
	KillAsGroup    bool
	User           string // "" when not set; resolved below
	UID            int    // -1 when no user=
	GID            int
	Groups         []uint32 // supplementary groups of User
	HomeDir        string   // of User, for HOME when environment= does not set it
	RedirectStderr bool
	Stdout         LogTarget
	Stderr         LogTarget
	// Environment is [supervisord] environment= updated with the program's
	// environment= (program keys win), as 4.2 stores it; first-seen order.
	Environment Env
	Directory   string // "" when not set; resolved at each spawn
	Umask       int    // -1 when not set (inherit the daemon's)
	ServerURL   string // "AUTO" or an URL

	// EventListener marks a process of an [eventlistener:x] pool: its
	// stdin and stdout carry the listener protocol.
	EventListener bool

	// Drover holds drover's own options (zero-downtime reloads).
	Drover Drover
}

// Drover is drover's own [program:x] options. supervisord ignores unknown
// keys, so a file that uses them still loads in supervisord 4.2.
type Drover struct {
	// Sockets are the parsed sockets= entries; drover binds them once and
	// passes them to every generation from fd 3 with LISTEN_FDS.
	Sockets       []Socket
	SocketBacklog int         // socket_backlog; default 1024
	SocketMode    os.FileMode // socket_mode for unix sockets; default 0660
	SocketOwner   string      // socket_owner user[:group]; "" unchanged
	SocketUID     int         // socket_owner resolved; -1 unchanged
	SocketGID     int         // -1 unchanged
	// Server is the server= preset (unicorn, puma, gunicorn, starman,
	// plain) that filled in the signals and readiness below; its Name is
	// "" when server= is not set (the plain preset's values apply).
	Server Preset
	// Reload is the reload strategy (restart without sockets=).
	Reload ReloadStrategy
	// ReloadSignal is sent for the "signal" and "reexec" strategies.
	ReloadSignal syscall.Signal
	// Ready is the parsed readiness probe (http, tcp, notify, log,
	// uptime); the zero value uses startsecs.
	Ready        Ready
	ReadyTimeout time.Duration // default 60s
	// GracefulStopSignal and GracefulTimeout stop an old generation.
	GracefulStopSignal syscall.Signal
	GracefulTimeout    time.Duration
	// Pidfile is the server's own pidfile, only a hint when following a
	// re-exec'd master.
	Pidfile string
	// Limits are the memory and CPU watchdog's limits (limits.go).
	Limits Limits
	// Container holds the container options (container.go).
	Container Container
	// DependsOn is depends_on (depends.go); DependsOnPos is where it is
	// written, for the cycle error.
	DependsOn    []Dependency
	DependsOnPos Pos
	// Backoff is the restart delay policy (backoff.go).
	Backoff Backoff
	// Health is the health check (health.go).
	Health Health
	// EnvFiles are the environment_file paths, absolute, in order
	// (dotenv.go); their variables are in Process.Environment.
	EnvFiles []string
}

// EnvVar is one KEY=value pair.
type EnvVar struct {
	Key, Value string
}

// Env is an ordered list of variables; later keys override earlier ones.
type Env []EnvVar

// Lookup returns the last value of key.
func (e Env) Lookup(key string) (string, bool) {
	for i := len(e) - 1; i >= 0; i-- {
		if e[i].Key == key {
			return e[i].Value, true
		}
	}
	return "", false
}
