package spawn

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// shimArg is argv[1] that selects the hidden shim mode.
const shimArg = "__drover_spawn_shim"

// IsShim reports whether args select the hidden spawn-shim mode. It is
// cheap and must be checked first thing in main, before any other setup.
func IsShim(args []string) bool { return len(args) > 1 && args[1] == shimArg }

// ShimMain runs in the child between fork and exec, as root if the daemon
// is: it applies, in order, the rlimits, setgroups/setgid/setuid, chdir
// (after the drop, so as the user and following symlinks now), umask,
// LISTEN_PID=<own pid>, resets ignored signals and the signal mask, and
// execs the target in place (same pid). It returns only on failure, with
// an *Error that has also been reported to the daemon's Start; the caller
// (main) then writes it to stderr and exits 127.
func ShimMain(args []string) error {
	if !IsShim(args) || len(args) < 5 {
		return fmt.Errorf("%w: not started by drover", ErrShimProtocol)
	}
	cfg, err := decodeShimConfig(args[2])
	if err != nil {
		return err
	}
	path, argv := args[3], args[4:]
	// ForkExec's dup2 cleared FD_CLOEXEC on the report fd: set it again so
	// a successful execve closes it and the daemon reads EOF.
	if _, err := unix.FcntlInt(uintptr(cfg.errFD), unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
		return &Error{Step: "shim", Err: err}
	}
	// Descriptors the daemon inherited without CLOEXEC (from whoever
	// started it) must not reach children, as supervisord closes 3..minfds.
	// Failure (kernel < 5.11) only loses this extra safety.
	_ = unix.CloseRange(uint(cfg.errFD)+1, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)

	fail := func(step, arg string, err error) error {
		var en syscall.Errno
		if !errors.As(err, &en) {
			en = unix.EINVAL
		}
		_, _ = unix.Write(cfg.errFD, encodeReport(step, int(en), arg))
		return &Error{Step: step, Arg: arg, Err: err}
	}

	for _, r := range cfg.rlimits {
		if err := setRlimit(r); err != nil {
			return fail("setrlimit", rlimitArg(r), err)
		}
	}
	if cfg.user {
		if step, err := dropPrivileges(cfg); err != nil {
			return fail(step, strconv.FormatUint(uint64(cfg.uid), 10), err)
		}
	}
	if cfg.hasDir {
		if err := unix.Chdir(cfg.dir); err != nil {
			return fail("chdir", cfg.dir, err)
		}
	}
	if cfg.umask >= 0 {
		unix.Umask(cfg.umask)
	}
	env := syscall.Environ()
	if cfg.listen {
		env = setEnv(env, "LISTEN_PID", strconv.Itoa(unix.Getpid()))
	}

	// The signal mask is per thread: set it on the thread that execs.
	runtime.LockOSThread()
	resetSignals()
	var empty unix.Sigset_t
	_ = unix.PthreadSigmask(unix.SIG_SETMASK, &empty, nil)
	err = syscall.Exec(path, argv, env)
	runtime.UnlockOSThread()
	return fail("exec", argv[0], err)
}

// setRlimit uses syscall.Setrlimit (not a raw call) on purpose: it tells
// the Go runtime to stop restoring its saved RLIMIT_NOFILE at exec, so the
// target keeps the value set here.
func setRlimit(r Rlimit) error {
	lim := syscall.Rlimit{Cur: r.Soft, Max: r.Hard}
	if r.Hard == 0 {
		var cur syscall.Rlimit
		if err := syscall.Getrlimit(r.Resource, &cur); err != nil {
			return err
		}
		lim.Max = cur.Max
		if cur.Max != unix.RLIM_INFINITY && (r.Soft == unix.RLIM_INFINITY || cur.Max < r.Soft) {
			lim.Max = r.Soft
		}
	}
	return syscall.Setrlimit(r.Resource, &lim)
}

func rlimitArg(r Rlimit) string {
	s := rlimitName(r.Resource) + " to " + strconv.FormatUint(r.Soft, 10)
	if r.Hard != 0 {
		s += "/" + strconv.FormatUint(r.Hard, 10)
	}
	return s
}

func rlimitName(res int) string {
	switch res {
	case unix.RLIMIT_NOFILE:
		return "RLIMIT_NOFILE"
	case unix.RLIMIT_NPROC:
		return "RLIMIT_NPROC"
	case unix.RLIMIT_CORE:
		return "RLIMIT_CORE"
	case unix.RLIMIT_AS:
		return "RLIMIT_AS"
	case unix.RLIMIT_STACK:
		return "RLIMIT_STACK"
	case unix.RLIMIT_MEMLOCK:
		return "RLIMIT_MEMLOCK"
	}
	return "rlimit " + strconv.Itoa(res)
}

// dropPrivileges follows supervisord's drop_privileges: nothing to do when
// already that uid; otherwise root is needed; groups (GID first), gid, uid.
// syscall's Setgroups/Setgid/Setuid apply to every thread of the shim.
func dropPrivileges(c *shimConfig) (string, error) {
	cur := unix.Getuid()
	if uint32(cur) == c.uid {
		return "", nil
	}
	if cur != 0 {
		return "setuid", unix.EPERM
	}
	gs := make([]int, len(c.groups))
	for i, g := range c.groups {
		gs[i] = int(g)
	}
	if err := syscall.Setgroups(gs); err != nil {
		return "setgroups", err
	}
	if err := syscall.Setgid(int(c.gid)); err != nil {
		return "setgid", err
	}
	if err := syscall.Setuid(int(c.uid)); err != nil {
		return "setuid", err
	}
	return "", nil
}

func setEnv(env []string, key, val string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+val)
}

// ignorableSignals are the only signals that can still be SIG_IGN in the
// shim: execve resets every signal that has a handler, and the Go runtime
// installs one for all others (runtime.sigInstallGoHandler keeps an
// inherited SIG_IGN for SIGHUP and SIGINT, and leaves the libc-reserved
// 32-34 alone). Python-based supervisord leaks SIGPIPE/SIGXFSZ as ignored;
// drover children start with every disposition at its default.
var ignorableSignals = [...]uintptr{1, 2, 32, 33, 34}

// resetSignals sets ignorableSignals to SIG_DFL. An all-zero kernel
// sigaction is SIG_DFL with no flags and an empty mask on every arch.
// Called right before execve, so the Go runtime never runs without them.
func resetSignals() {
	var dfl [4]uint64
	for _, sig := range ignorableSignals {
		_, _, _ = unix.RawSyscall6(unix.SYS_RT_SIGACTION, sig, uintptr(unsafe.Pointer(&dfl)), 0, 8, 0, 0)
	}
}
