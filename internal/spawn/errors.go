package spawn

import (
	"errors"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Sentinels for command resolution (see Resolve). They match supervisord's
// NotFound, NotExecutable and NoPermission spawn errors.
var (
	ErrBadCommand    = errors.New("bad command")
	ErrNotFound      = errors.New("command not found")
	ErrNotExecutable = errors.New("command not executable")
	ErrNoPermission  = errors.New("no permission to run command")
)

// ErrInvalidSpec is wrapped by Start when the Spec itself is unusable
// (empty Path or Argv, ListenFDs larger than ExtraFiles); nothing is forked.
var ErrInvalidSpec = errors.New("invalid spawn spec")

// ErrTimeout is wrapped by Start when Spec.StartTimeout passed before the
// shim reported its outcome (for example chdir into a hung NFS mount). The
// child still exists; the caller decides whether to kill it.
var ErrTimeout = errors.New("timed out waiting for the child to exec")

// ErrShimProtocol is wrapped when the shim's report or its arguments
// cannot be understood (a drover binary of another version, or a shim
// started by hand).
var ErrShimProtocol = errors.New("spawn shim protocol error")

// ErrNoProcess is wrapped by Signal when the process (group) does not
// exist any more (ESRCH). Stop logic treats it as "already gone".
var ErrNoProcess = errors.New("no such process")

// ResolveError is a command resolution failure. Its message is
// supervisord's, e.g. "can't find command 'foo'"; Err is one of the
// sentinels above, so callers match with errors.Is.
type ResolveError struct {
	Err  error  // ErrBadCommand, ErrNotFound, ErrNotExecutable or ErrNoPermission
	Path string // the candidate file name as supervisord reports it
	msg  string
}

func (e *ResolveError) Error() string { return e.msg }
func (e *ResolveError) Unwrap() error { return e.Err }

// Error is a failure to start a child. Step names what failed: "spec",
// "pipe", "fork" (in the daemon), or a step of the shim in the child:
// "setrlimit", "setgroups", "setgid", "setuid", "chdir", "exec", "shim".
// Err is usually a syscall.Errno, so errors.Is(err, unix.ENOENT) works.
// Error() reads like supervisord's child message without its
// "supervisor: " prefix, e.g. "couldn't chdir to /x: ENOENT".
type Error struct {
	Step string
	Arg  string // what the step acted on: the directory, uid, argv[0], ...
	Err  error
}

func (e *Error) Unwrap() error { return e.Err }

func (e *Error) Error() string {
	code := errText(e.Err)
	switch e.Step {
	case "chdir":
		return "couldn't chdir to " + e.Arg + ": " + code
	case "exec":
		return "couldn't exec " + e.Arg + ": " + code
	case "setuid":
		return "couldn't setuid to " + e.Arg + ": " + code
	case "setgroups":
		return "couldn't setuid to " + e.Arg + ": could not set groups of effective user: " + code
	case "setgid":
		return "couldn't setuid to " + e.Arg + ": could not set group id of effective user: " + code
	case "setrlimit":
		return "couldn't set " + e.Arg + ": " + code
	case "spec":
		return "can't spawn: " + e.Err.Error()
	}
	if e.Arg != "" {
		return "couldn't spawn " + e.Arg + ": " + e.Step + ": " + code
	}
	return "couldn't spawn: " + e.Step + ": " + code
}

// errText renders an errno as its symbolic name (ENOENT), as supervisord's
// errno.errorcode lookup does, and any other error as its message.
func errText(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		if name := unix.ErrnoName(en); name != "" {
			return name
		}
		return strconv.Itoa(int(en))
	}
	if err == nil {
		return "unknown error"
	}
	return err.Error()
}
