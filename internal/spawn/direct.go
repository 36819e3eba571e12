package spawn

import (
	"bytes"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// The shim costs one Go runtime start per spawn. When a child needs nothing
// that must run between fork and exec in it (no umask, no rlimits, no
// LISTEN_PID), Go's own fork/exec does the rest in the right order
// (setpgid, setgroups/setgid/setuid, then chdir as the user, then execve),
// so Start execs the program directly: a respawn then costs one exec.

// PrepareDirect makes direct spawns safe for the calling process and says
// whether they are: it marks every descriptor above 2 close-on-exec (what
// the shim would do in each child) and reports false when a signal is
// ignored, which a directly exec'd child would inherit. (The signal mask
// is not checked: /proc shows one thread's, which the Go runtime changes
// at will; a direct child gets the mask the daemon was started with,
// normally empty, while the shim always clears it.)
func PrepareDirect() bool {
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return false
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, line := range bytes.Split(status, []byte("\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok || string(k) != "SigIgn" {
			continue
		}
		ign, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 16, 64)
		// Signals 1-31 only: 32 and up are libc's own (make, for one, runs
		// its children with 32 and 33 ignored), and C programs install
		// their handlers for those whatever they inherit.
		return err == nil && ign&0x7fffffff == 0
	}
	return false
}

// direct reports whether spec can skip the shim.
func (s *Spec) direct() bool {
	return s.Direct && s.Umask < 0 && len(s.Rlimits) == 0 && s.ListenFDs == 0
}

// startDirect forks and execs spec's program without the shim. Failures in
// the child come back from ForkExec itself (pid 0, the child reaped by Go).
func startDirect(spec *Spec, files []uintptr) (int, error) {
	sys := &syscall.SysProcAttr{Setpgid: true}
	if u := spec.User; u != nil {
		groups := []uint32{u.GID}
		for _, g := range u.Groups {
			if g != u.GID {
				groups = append(groups, g)
			}
		}
		sys.Credential = &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: groups}
	}
	pid, err := spec.Forkers.ForkExec(spec.Path, spec.Argv, &syscall.ProcAttr{
		Dir: spec.Dir, Env: spec.Env, Files: files, Sys: sys,
	})
	if err == nil {
		return pid, nil
	}
	// ForkExec does not say which step failed: a missing directory is the
	// likely chdir failure, anything else is reported as the exec.
	if spec.Dir != "" {
		if _, serr := os.Stat(spec.Dir); serr != nil {
			return 0, &Error{Step: "chdir", Arg: spec.Dir, Err: err}
		}
	}
	return 0, &Error{Step: "exec", Arg: spec.Path, Err: err}
}
