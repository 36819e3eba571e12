// Package spawn is the OS side of drover's children: command resolution
// (Resolve), the child environment (EnvBase.Build), fork/exec through a re-exec
// shim of the drover binary that runs code between fork and exec (Start,
// ShimMain), the child subreaper and its single reaper (BecomeSubreaper,
// Reaper), signalling (Signal) and the daemon's rlimits (RaiseLimits).
//
// Nothing here waits for a specific child: the Reaper is the only place
// that calls wait, so callers must never use os/exec's Wait or
// os.Process.Wait in a daemon that runs a Reaper.
package spawn

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Rlimit is one resource limit the shim sets before dropping privileges.
type Rlimit struct {
	Resource int    // unix.RLIMIT_NOFILE, unix.RLIMIT_NPROC, ...
	Soft     uint64 // unix.RLIM_INFINITY for unlimited
	// Hard 0 keeps the current hard limit, raised to Soft when lower
	// (which needs root, as the shim is before the drop).
	Hard uint64
}

// Spec describes one child. Start does not modify it or its files.
type Spec struct {
	// Path is the file to execute, normally from Resolve. A relative path
	// is resolved by execve after the chdir to Dir, as in supervisord.
	Path string
	// Argv is the full argument list; Argv[0] is the command as written.
	Argv []string
	// Env is the complete environment (see EnvBase.Build).
	Env []string
	// Dir is directory= as written; "" keeps the daemon's working
	// directory. The shim chdirs after dropping privileges, so symlinks
	// are followed at every spawn and permissions are the user's.
	Dir string
	// User drops privileges (setgroups, setgid, setuid) in the shim; nil
	// keeps the daemon's credentials. Dropping to another user needs a
	// root daemon; asking for the daemon's own uid is a no-op.
	User *User
	// Umask is set in the shim when 0 <= Umask <= 0777; -1 (or any
	// negative) keeps the daemon's. Note the zero value sets umask 000.
	Umask int
	// Rlimits are applied in the shim first, while still root.
	Rlimits []Rlimit
	// Stdin, Stdout and Stderr become fds 0, 1, 2; nil means /dev/null.
	// Start does not close them.
	Stdin, Stdout, Stderr *os.File
	// ExtraFiles become fds 3, 4, ... in order; a nil entry leaves that fd
	// closed. Start does not close them.
	ExtraFiles []*os.File
	// ListenFDs > 0 announces the first ListenFDs extra files as
	// systemd-style listening sockets: LISTEN_FDS=ListenFDs, LISTEN_PID=the
	// child's own pid (set by the shim, so it equals the target's pid) and,
	// when ListenNames is not empty, LISTEN_FDNAMES=names joined by ":".
	ListenFDs   int
	ListenNames []string
	// StartTimeout bounds how long Start waits for the shim's outcome;
	// 0 waits as long as it takes (a chdir into a hung NFS mount blocks).
	StartTimeout time.Duration
	// Direct lets Start skip the shim when the child needs none of what it
	// does (Umask < 0, no Rlimits, no ListenFDs). Set it only in a process
	// for which PrepareDirect returned true. StartTimeout does not apply.
	Direct bool
	// Forkers, when set, run the fork+exec on a thread with a nearly
	// empty descriptor table (forker.go); nil forks on the caller's.
	Forkers *Forkers
}

var (
	exeOnce sync.Once
	exePath string
	exeErr  error
)

// shimExe is the binary that runs the shim: this very binary, through
// /proc/self/exe, so the shim always matches the daemon even after the
// file on disk was replaced by an upgrade.
func shimExe() (string, error) {
	exeOnce.Do(func() {
		if _, err := os.Stat("/proc/self/exe"); err == nil {
			exePath = "/proc/self/exe"
			return
		}
		exePath, exeErr = os.Executable()
	})
	return exePath, exeErr
}

// Start forks and execs spec's program through the shim and blocks until
// the target's execve has succeeded or a step before it has failed.
//
// On success it returns the child's pid, which the target keeps (the shim
// execs in place); the child leads its own process group (pgid = pid).
// On a failure inside the child it returns the pid AND an *Error naming
// the step: the shim has then written "drover: ..." to the child's stderr
// and exits 127, and the Reaper will deliver that exit like any other.
// On a failure before the fork (bad spec, pipe or fork error) pid is 0.
//
// Exits must be routed by the goroutine that calls Start (or after Start
// returned), because a fast child can be reaped before Start returns.
//
// If the exec of the shim binary itself fails, syscall.ForkExec reaps that
// child by itself; a running Reaper may win the race and report the pid
// (which Start never returned) as an unknown exit, and ForkExec's own wait
// then sees ECHILD, which it ignores. Callers just log unknown exits.
func Start(spec *Spec) (int, error) {
	if err := validate(spec); err != nil {
		return 0, &Error{Step: "spec", Err: err}
	}
	exe, err := shimExe()
	if err != nil {
		return 0, &Error{Step: "fork", Arg: spec.Argv[0], Err: err}
	}
	var devnull *os.File
	std := [3]*os.File{spec.Stdin, spec.Stdout, spec.Stderr}
	for i := range std {
		if std[i] != nil {
			continue
		}
		if devnull == nil {
			if devnull, err = os.OpenFile(os.DevNull, os.O_RDWR, 0); err != nil {
				return 0, &Error{Step: "pipe", Arg: spec.Argv[0], Err: err}
			}
			defer devnull.Close()
		}
		std[i] = devnull
	}
	if spec.direct() {
		pid, err := startDirect(spec, []uintptr{std[0].Fd(), std[1].Fd(), std[2].Fd()})
		runtime.KeepAlive(std)
		return pid, err
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return 0, &Error{Step: "pipe", Arg: spec.Argv[0], Err: err}
	}
	rd, wr := p[0], p[1]
	defer unix.Close(rd)

	files := make([]uintptr, 0, 4+len(spec.ExtraFiles))
	for _, f := range std {
		files = append(files, f.Fd())
	}
	for _, f := range spec.ExtraFiles {
		files = append(files, f.Fd())
	}
	cfg := shimConfig{errFD: len(files), umask: -1, dir: spec.Dir, hasDir: spec.Dir != "",
		rlimits: spec.Rlimits, listen: spec.ListenFDs > 0}
	files = append(files, uintptr(wr))
	if spec.Umask >= 0 {
		cfg.umask = spec.Umask
	}
	if u := spec.User; u != nil {
		cfg.user, cfg.uid, cfg.gid = true, u.UID, u.GID
		cfg.groups = append(cfg.groups, u.GID)
		for _, g := range u.Groups {
			if g != u.GID {
				cfg.groups = append(cfg.groups, g)
			}
		}
	}
	argv := make([]string, 0, 4+len(spec.Argv))
	argv = append(argv, "drover", shimArg, cfg.encode(), spec.Path)
	argv = append(argv, spec.Argv...)

	pid, err := spec.Forkers.ForkExec(exe, argv, &syscall.ProcAttr{
		Env:   childEnv(spec),
		Files: files,
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	unix.Close(wr)
	runtime.KeepAlive(std)
	runtime.KeepAlive(spec.ExtraFiles)
	if err != nil {
		return 0, &Error{Step: "fork", Arg: spec.Argv[0], Err: err}
	}
	return pid, awaitExec(rd, spec.StartTimeout)
}

func validate(s *Spec) error {
	switch {
	case s == nil:
		return fmt.Errorf("%w: nil spec", ErrInvalidSpec)
	case s.Path == "":
		return fmt.Errorf("%w: empty path", ErrInvalidSpec)
	case len(s.Argv) == 0:
		return fmt.Errorf("%w: empty argv", ErrInvalidSpec)
	case s.ListenFDs < 0 || s.ListenFDs > len(s.ExtraFiles):
		return fmt.Errorf("%w: ListenFDs %d with %d extra files", ErrInvalidSpec, s.ListenFDs, len(s.ExtraFiles))
	case s.ListenFDs == 0 && len(s.ListenNames) > 0:
		return fmt.Errorf("%w: ListenNames without ListenFDs", ErrInvalidSpec)
	case s.Umask > 0o777:
		return fmt.Errorf("%w: umask %#o", ErrInvalidSpec, s.Umask)
	}
	for _, f := range append([]*os.File{s.Stdin, s.Stdout, s.Stderr}, s.ExtraFiles...) {
		if f != nil && f.Fd() == ^uintptr(0) {
			return fmt.Errorf("%w: closed file %s", ErrInvalidSpec, f.Name())
		}
	}
	for _, l := range [][]string{{s.Path, s.Dir}, s.Argv, s.Env, s.ListenNames} {
		for _, v := range l {
			if strings.IndexByte(v, 0) >= 0 {
				return fmt.Errorf("%w: NUL byte in %q", ErrInvalidSpec, v)
			}
		}
	}
	return nil
}

// childEnv is spec.Env with the LISTEN_FDS/LISTEN_FDNAMES of this spawn;
// LISTEN_PID is left to the shim, which alone knows the pid before exec.
func childEnv(s *Spec) []string {
	if s.ListenFDs == 0 {
		return s.Env
	}
	env := make([]string, 0, len(s.Env)+2)
	for _, kv := range s.Env {
		k, _, _ := strings.Cut(kv, "=")
		if !listenVar(k) {
			env = append(env, kv)
		}
	}
	env = append(env, "LISTEN_FDS="+strconv.Itoa(s.ListenFDs))
	if len(s.ListenNames) > 0 {
		env = append(env, "LISTEN_FDNAMES="+strings.Join(s.ListenNames, ":"))
	}
	return env
}

// awaitExec reads the shim's report pipe until EOF (the target exec'd, so
// the CLOEXEC write end closed) or a failure report.
func awaitExec(rd int, timeout time.Duration) error {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	var buf []byte
	chunk := make([]byte, 512)
	for {
		ms := -1
		if timeout > 0 {
			left := time.Until(deadline)
			if left <= 0 {
				return &Error{Step: "shim", Err: ErrTimeout}
			}
			ms = int((left + time.Millisecond - 1) / time.Millisecond)
		}
		pfd := []unix.PollFd{{Fd: int32(rd), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, ms); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return &Error{Step: "shim", Err: err}
		}
		if pfd[0].Revents == 0 {
			continue // timed out: the deadline check above reports it
		}
		n, err := unix.Read(rd, chunk)
		switch {
		case errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN):
			continue
		case err != nil:
			return &Error{Step: "shim", Err: err}
		case n > 0 && len(buf) < 4096:
			buf = append(buf, chunk[:n]...)
			continue
		case n > 0:
			continue
		}
		if len(buf) == 0 {
			return nil
		}
		step, errno, arg, err := decodeReport(buf)
		if err != nil {
			return &Error{Step: "shim", Err: err}
		}
		return &Error{Step: step, Arg: arg, Err: syscall.Errno(errno)}
	}
}
