package rpc

import (
	"github.com/drover-sh/drover/internal/supervisor"

	"math"
	"strconv"
	"strings"
	"syscall"
)

// kind is the declared type of a method parameter, named as
// system.methodSignature reports it.
type kind string

const (
	kString kind = "string"
	kInt    kind = "int"
	kBool   kind = "boolean"
	kArray  kind = "array"
)

// args are a call's parameters after the arity check; the accessors
// convert like supervisord's Python (int("12") works, truthy waits) and
// fail INCORRECT_PARAMETERS otherwise.
type args []any

// badParam is INCORRECT_PARAMETERS with the value as Python's str() shows it.
func badParam(v any) error {
	return supervisor.NewFault(supervisor.CodeIncorrectParameters, pyStr(v))
}

func (a args) str(i int) (string, error) {
	switch v := a[i].(type) {
	case string:
		return v, nil
	case []byte:
		return string(v), nil
	}
	return "", badParam(a[i])
}

func (a args) int(i int) (int64, error) {
	switch v := a[i].(type) {
	case int:
		return int64(v), nil
	case bool:
		if v {
			return 1, nil
		}
		return 0, nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err == nil {
			return n, nil
		}
	case float64:
		// int(1.5) is 1 in Python: truncate toward zero.
		if !math.IsNaN(v) && math.Abs(v) < 1<<63 {
			return int64(v), nil
		}
	case []any, map[string]any:
		// Python's int() raises TypeError here, which supervisord turns
		// into a bare INCORRECT_PARAMETERS.
		return 0, supervisor.NewFault(supervisor.CodeIncorrectParameters, "")
	}
	return 0, badParam(a[i])
}

// boolOr returns parameter i as a boolean, or def when it was not given.
func (a args) boolOr(i int, def bool) (bool, error) {
	if i >= len(a) {
		return def, nil
	}
	switch v := a[i].(type) {
	case bool:
		return v, nil
	case int:
		return v != 0, nil
	}
	return false, badParam(a[i])
}

// splitNamespec splits "group:proc" like supervisord: "x" is group x,
// process x; "g:" and "g:*" name the whole group (proc == "").
func splitNamespec(name string) (group, proc string) {
	g, p, ok := strings.Cut(name, ":")
	if !ok {
		return name, name
	}
	if p == "*" {
		p = ""
	}
	return g, p
}

// signalNames are the names Python's signal module knows on Linux.
var signalNames = map[string]syscall.Signal{
	"ABRT": syscall.SIGABRT, "ALRM": syscall.SIGALRM, "BUS": syscall.SIGBUS,
	"CHLD": syscall.SIGCHLD, "CLD": syscall.SIGCHLD, "CONT": syscall.SIGCONT,
	"FPE": syscall.SIGFPE, "HUP": syscall.SIGHUP, "ILL": syscall.SIGILL,
	"INT": syscall.SIGINT, "IO": syscall.SIGIO, "IOT": syscall.SIGABRT,
	"KILL": syscall.SIGKILL, "PIPE": syscall.SIGPIPE, "POLL": syscall.SIGIO,
	"PROF": syscall.SIGPROF, "PWR": syscall.SIGPWR, "QUIT": syscall.SIGQUIT,
	"RTMIN": 34, "RTMAX": 64, "SEGV": syscall.SIGSEGV,
	"STKFLT": syscall.SIGSTKFLT, "STOP": syscall.SIGSTOP, "SYS": syscall.SIGSYS,
	"TERM": syscall.SIGTERM, "TRAP": syscall.SIGTRAP, "TSTP": syscall.SIGTSTP,
	"TTIN": syscall.SIGTTIN, "TTOU": syscall.SIGTTOU, "URG": syscall.SIGURG,
	"USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "VTALRM": syscall.SIGVTALRM,
	"WINCH": syscall.SIGWINCH, "XCPU": syscall.SIGXCPU, "XFSZ": syscall.SIGXFSZ,
}

// parseSignal accepts a name with or without SIG (any case) or a number
// (1-31, 34-64), as a string or an int; ok is false otherwise.
func parseSignal(v any) (syscall.Signal, bool) {
	var s string
	switch v := v.(type) {
	case int:
		s = strconv.Itoa(v)
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return 0, false
	}
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		if (n >= 1 && n <= 31) || (n >= 34 && n <= 64) {
			return syscall.Signal(n), true
		}
		return 0, false
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	sig, ok := signalNames[name]
	return sig, ok
}
