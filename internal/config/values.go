package config

import (
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Value converters with supervisord 4.2's datatypes.py semantics; each
// error says what is accepted.

// pyInt is Python's int(s): surrounding whitespace, an optional sign, ASCII
// digits with single underscores between them.
func pyInt(s string) (int64, error) {
	return pyIntBase(s, 10)
}

func pyIntBase(s string, base int) (int64, error) {
	t := pyStrip(s)
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	if base == 8 && len(t) > 2 && t[0] == '0' && (t[1] == 'o' || t[1] == 'O') {
		t = t[2:]
		if t[0] == '_' {
			t = t[1:]
		}
	}
	if t == "" || t[0] == '_' || t[len(t)-1] == '_' || strings.Contains(t, "__") {
		return 0, verr("%q is not an integer", s)
	}
	t = strings.ReplaceAll(t, "_", "")
	n, err := strconv.ParseInt(t, base, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, verr("%q is too large", s)
		}
		if base == 8 {
			return 0, verr("%q is not an octal number (e.g. 022)", s)
		}
		return 0, verr("%q is not an integer", s)
	}
	if neg {
		n = -n
	}
	return n, nil
}

func toInt(s string) (int, error) {
	n, err := pyInt(s)
	if err != nil {
		return 0, err
	}
	if n > math.MaxInt32 || n < math.MinInt32 {
		return 0, verr("%q is out of range", s)
	}
	return int(n), nil
}

// pyBool accepts supervisord's spellings in any case.
func pyBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "yes", "true", "on", "1":
		return true, nil
	case "no", "false", "off", "0":
		return false, nil
	}
	return false, verr("%q is not a boolean: use true/false, yes/no, on/off or 1/0", s)
}

// byteSize is supervisord's byte_size: an integer with an optional KB, MB or
// GB suffix in any case (powers of 1024); "50 MB" is fine, "50M" is not.
func byteSize(s string) (int64, error) {
	l := strings.ToLower(s)
	mult := int64(1)
	num := l
	if len(l) >= 2 {
		switch l[len(l)-2:] {
		case "kb":
			mult, num = 1<<10, l[:len(l)-2]
		case "mb":
			mult, num = 1<<20, l[:len(l)-2]
		case "gb":
			mult, num = 1<<30, l[:len(l)-2]
		}
	}
	n, err := pyInt(num)
	if err != nil || n > math.MaxInt64/mult || n < math.MinInt64/mult {
		return 0, verr("%q is not a byte size: use a whole number of bytes, optionally followed by KB, MB or GB (e.g. 50MB)", s)
	}
	return n * mult, nil
}

// octal is int(s, 8): "022", "0o22" and "22" are all 18.
func octal(s string) (os.FileMode, error) {
	n, err := pyIntBase(s, 8)
	if err != nil || n < 0 || n > 0o7777 {
		return 0, verr("%q is not an octal mode (e.g. 022 or 0700)", s)
	}
	return os.FileMode(n), nil
}

// signalNames are the SIG* names of Python's signal module on Linux. An
// array of pairs (static data), not a map, so nothing is built at package init.
var signalNames = [...]struct {
	name string
	sig  syscall.Signal
}{
	{"SIGABRT", 6}, {"SIGALRM", 14}, {"SIGBUS", 7}, {"SIGCHLD", 17}, {"SIGCLD", 17}, {"SIGCONT", 18},
	{"SIGFPE", 8}, {"SIGHUP", 1}, {"SIGILL", 4}, {"SIGINT", 2}, {"SIGIO", 29}, {"SIGIOT", 6}, {"SIGKILL", 9},
	{"SIGPIPE", 13}, {"SIGPOLL", 29}, {"SIGPROF", 27}, {"SIGPWR", 30}, {"SIGQUIT", 3}, {"SIGRTMAX", 64},
	{"SIGRTMIN", 34}, {"SIGSEGV", 11}, {"SIGSTKFLT", 16}, {"SIGSTOP", 19}, {"SIGSYS", 31}, {"SIGTERM", 15},
	{"SIGTRAP", 5}, {"SIGTSTP", 20}, {"SIGTTIN", 21}, {"SIGTTOU", 22}, {"SIGURG", 23}, {"SIGUSR1", 10},
	{"SIGUSR2", 12}, {"SIGVTALRM", 26}, {"SIGWINCH", 28}, {"SIGXCPU", 24}, {"SIGXFSZ", 25},
}

// SignalName is the canonical name of a signal number ("SIGTERM"), as
// Python's signal.Signals(n).name gives it; "" when it has none.
func SignalName(sig syscall.Signal) string {
	best := ""
	for _, e := range signalNames {
		if e.sig == sig && (best == "" || canonicalBefore(e.name, best)) {
			best = e.name
		}
	}
	return best
}

// canonicalBefore prefers the primary name over the aliases SIGCLD, SIGIOT, SIGPOLL.
func canonicalBefore(a, b string) bool {
	alias := func(s string) bool { return s == "SIGCLD" || s == "SIGIOT" || s == "SIGPOLL" }
	if alias(a) != alias(b) {
		return !alias(a)
	}
	return a < b
}

// signalNumber accepts TERM, SIGTERM (any case) or a number that names a
// signal; like 4.2, numbers must be one of Python's SIG* values.
func signalNumber(s string) (syscall.Signal, error) {
	if n, err := pyInt(s); err == nil {
		if (n >= 1 && n <= 31) || n == 34 || n == 64 {
			return syscall.Signal(n), nil
		}
		return 0, verr("%q is not a valid signal number (1-31, 34 or 64)", s)
	}
	name := strings.ToUpper(pyStrip(s))
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	for _, e := range signalNames {
		if e.name == name {
			return e.sig, nil
		}
	}
	return 0, verr("%q is not a signal name: use TERM, SIGTERM, HUP, INT, QUIT, KILL, USR1, USR2, ... or a number", s)
}

// exitCodes is a comma-separated list of integers 0-255; "" is no codes.
func exitCodes(s string) ([]int, error) {
	if s == "" {
		return []int{}, nil
	}
	parts := strings.Split(s, ",")
	out := make([]int, 0, len(parts))
	for _, p := range parts {
		n, err := pyInt(p)
		if err != nil || n < 0 || n > 255 {
			return nil, verr("%q is not a list of exit codes: use comma-separated integers from 0 to 255 (e.g. 0,2)", s)
		}
		out = append(out, int(n))
	}
	return out, nil
}

// logLevels are the level names; static pairs, so nothing is built at package init.
var logLevels = [...]struct {
	name  string
	level LogLevel
}{
	{"critical", LevelCritical}, {"error", LevelError}, {"warn", LevelWarn}, {"info", LevelInfo},
	{"debug", LevelDebug}, {"trace", LevelTrace}, {"blather", LevelBlather},
}

func logLevel(s string) (LogLevel, error) {
	name := strings.ToLower(s)
	for _, e := range logLevels {
		if e.name == name {
			return e.level, nil
		}
	}
	return 0, verr("%q is not a log level: use critical, error, warn, info, debug, trace or blather", s)
}

// String returns the level as supervisord's config spells it.
func (l LogLevel) String() string {
	for _, e := range logLevels {
		if e.level == l {
			return e.name
		}
	}
	return strconv.Itoa(int(l))
}

func autorestart(s string) (Autorestart, error) {
	l := strings.ToLower(s)
	if l == "unexpected" {
		return AutorestartUnexpected, nil
	}
	b, err := pyBool(l)
	if err != nil {
		return 0, verr("%q is not valid: use unexpected, true or false", s)
	}
	if b {
		return AutorestartTrue, nil
	}
	return AutorestartFalse, nil
}

// inetAddress parses [inet_http_server] port: host:port, :port, *:port or port.
func inetAddress(s string) (string, int, error) {
	host, p := "", s
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host, p = strings.ToLower(s[:i]), s[i+1:]
		if p == "" {
			return "", 0, verr("%q has no port number: use host:port, :port or port", s)
		}
	}
	n, err := pyInt(p)
	if err != nil || n < 1 || n > 65535 {
		return "", 0, verr("%q is not a valid port: use host:port, :port or port with a port from 1 to 65535", s)
	}
	if host == "*" {
		host = ""
	}
	return host, int(n), nil
}

// name checks a program, group or process name as process_or_group_name:
// surrounding whitespace is dropped; space, ':' and '/' are refused.
func checkName(s string) (string, error) {
	t := pyStrip(s)
	for _, c := range " :/" {
		if strings.ContainsRune(t, c) {
			return t, verr("invalid name %q: names may not contain a space, ':' or '/'", s)
		}
	}
	return t, nil
}
