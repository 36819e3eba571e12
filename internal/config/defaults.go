package config

import (
	"slices"
	"sync"
)

// Section kinds, as supervisord recognises them by name prefix.
const (
	kindSupervisord   = "supervisord"
	kindProgram       = "program"
	kindEventListener = "eventlistener"
	kindFCGI          = "fcgi-program"
	kindGroup         = "group"
	kindUnixServer    = "unix_http_server"
	kindInetServer    = "inet_http_server"
	kindCtl           = "supervisorctl"
	kindInclude       = "include"
	kindRPC           = "rpcinterface"
	kindCtlPlugin     = "ctlplugin"
	// drover's own sections (supervisord ignores them).
	kindAccess = "access"
	kindUser   = "user"
)

// noDefault marks an option whose absence supervisord keeps as None.
const noDefault = "\x00none"

// StandardRPCFactory is the only rpcinterface factory drover accepts.
const StandardRPCFactory = "supervisor.rpcinterface:make_main_rpcinterface"

// DefaultResultHandler is the only event listener result_handler drover accepts.
const DefaultResultHandler = "supervisor.dispatchers:default_handler"

// optionDefaults is every option drover knows, per section kind, with the
// text supervisord 4.2 uses when the option is absent (noDefault: None).
// It is the single place defaults live; the builders never hard-code one.
// The text goes through the same expansion and conversion as a written
// value, exactly as in supervisord.
func optionDefaults(kind string) map[string]string {
	switch kind {
	case kindSupervisord:
		return map[string]string{
			"logfile": "supervisord.log", "logfile_maxbytes": "50MB", "logfile_backups": "10",
			"loglevel": "info", "pidfile": "supervisord.pid", "umask": "022", "nodaemon": "false",
			"silent": "false", "minfds": "1024", "minprocs": "200", "nocleanup": "false",
			"childlogdir": noDefault, // Options.TempDir, filled in by getter.raw
			"user":        noDefault, "directory": noDefault, "strip_ansi": "false",
			"environment": "", "identifier": "supervisor",
		}
	case kindProgram, kindEventListener, kindFCGI:
		m := map[string]string{
			"command": noDefault, "process_name": "%(program_name)s", "numprocs": "1",
			"numprocs_start": "0", "priority": "999", "autostart": "true",
			"autorestart": "unexpected", "startsecs": "1", "startretries": "3",
			"exitcodes": "0", "stopsignal": "TERM", "stopwaitsecs": "10",
			"stopasgroup": "false", "killasgroup": noDefault, // = stopasgroup
			"user": noDefault, "redirect_stderr": "false", "environment": "",
			"directory": noDefault, "umask": noDefault, "serverurl": "AUTO",
		}
		for _, k := range slices.Concat(droverOptions, limitOptions, containerOptions, backoffOptions, healthOptions) {
			m[k] = noDefault // drover's own; defaults in droverDefaults
		}
		for _, s := range []string{"stdout", "stderr"} {
			m[s+"_logfile"] = "AUTO"
			m[s+"_logfile_maxbytes"] = "50MB"
			m[s+"_logfile_backups"] = "10"
			m[s+"_capture_maxbytes"] = "0"
			m[s+"_events_enabled"] = "false"
			m[s+"_syslog"] = "false"
		}
		switch kind {
		case kindEventListener:
			m["priority"] = "-1" // the pool's; its processes default to 999
			m["buffer_size"] = "10"
			m["result_handler"] = DefaultResultHandler
			m["events"] = ""
		case kindFCGI:
			m["socket"] = noDefault
			m["socket_backlog"] = noDefault // SOMAXCONN
			m["socket_owner"] = noDefault
			m["socket_mode"] = noDefault // 0700 for unix sockets
		}
		return m
	case kindGroup:
		// depends_on is drover's own (depends.go).
		return map[string]string{"programs": noDefault, "priority": "999", "depends_on": noDefault}
	case kindUnixServer:
		return map[string]string{"file": noDefault, "chmod": "0700", "chown": noDefault,
			"username": noDefault, "password": noDefault}
	case kindInetServer:
		return map[string]string{"port": noDefault, "username": noDefault, "password": noDefault,
			// drover's own: HTTPS, and mutual TLS with a client CA.
			"tls_cert": noDefault, "tls_key": noDefault, "tls_client_ca": noDefault}
	case kindCtl:
		return map[string]string{"serverurl": "http://localhost:9001", "username": noDefault,
			"password": noDefault, "prompt": "supervisor", "history_file": noDefault}
	case kindInclude:
		return map[string]string{"files": noDefault}
	case kindRPC:
		return map[string]string{"supervisor.rpcinterface_factory": noDefault}
	case kindCtlPlugin:
		return map[string]string{"supervisor.ctl_factory": noDefault}
	case kindAccess:
		return map[string]string{"users": "", "groups": "", "read": "", "control": "", "admin": ""}
	case kindUser:
		return map[string]string{"password": noDefault}
	}
	return nil
}

// knownOptions is optionDefaults for every kind, computed on first use (not
// at package init: every drover command links this package, few load a
// config) and shared; read only.
var knownOptions = lazy[map[string]map[string]string]{make: func() map[string]map[string]string {
	m := map[string]map[string]string{}
	for _, k := range []string{kindSupervisord, kindProgram, kindEventListener, kindFCGI, kindGroup,
		kindUnixServer, kindInetServer, kindCtl, kindInclude, kindRPC, kindCtlPlugin, kindAccess, kindUser} {
		m[k] = optionDefaults(k)
	}
	return m
}}

// lazy is a value made on first use. Unlike sync.OnceValue it is plain
// data, so a package-level lazy costs nothing at package init.
type lazy[T any] struct {
	once sync.Once
	make func() T
	v    T
}

func (l *lazy[T]) get() T {
	l.once.Do(func() { l.v = l.make() })
	return l.v
}

// sectionKind classifies a section name the way supervisord's prefix tests do.
func sectionKind(name string) string {
	switch name {
	case kindSupervisord, kindCtl, kindInclude:
		return name
	}
	for _, k := range []string{kindProgram, kindEventListener, kindFCGI, kindGroup, kindRPC, kindCtlPlugin, kindAccess, kindUser} {
		if len(name) > len(k) && name[:len(k)+1] == k+":" {
			return k
		}
	}
	for _, k := range []string{kindUnixServer, kindInetServer} {
		if len(name) >= len(k) && name[:len(k)] == k {
			return k
		}
	}
	return ""
}
