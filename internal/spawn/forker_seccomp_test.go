package spawn

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// seccompChildEnv names, in a re-run of this test binary, the system call
// that a seccomp filter refuses before the forkers start, and the errno.
const seccompChildEnv = "DROVER_TEST_SECCOMP_DENY"

// A container's seccomp filter may refuse what the forkers need. Each
// case re-runs this test in a child process that installs a filter
// refusing one call for every thread (the filter cannot be removed), then
// starts forkers and forks through them: the forks must still succeed, on
// the caller's thread, and the forkers be off (pidfd_getfd, refused at the
// first fork) or never started (unshare, pidfd_open).
func TestForkersUnderSeccomp(t *testing.T) {
	if deny := os.Getenv(seccompChildEnv); deny != "" {
		forkUnderSeccomp(t, deny)
		return
	}
	for _, c := range []struct{ name, deny string }{
		{"pidfd_getfd EPERM", strconv.Itoa(unix.SYS_PIDFD_GETFD) + ":" + strconv.Itoa(int(unix.EPERM))},
		{"pidfd_getfd ENOSYS", strconv.Itoa(unix.SYS_PIDFD_GETFD) + ":" + strconv.Itoa(int(unix.ENOSYS))},
		{"pidfd_open EPERM", strconv.Itoa(unix.SYS_PIDFD_OPEN) + ":" + strconv.Itoa(int(unix.EPERM))},
		{"unshare EPERM", strconv.Itoa(unix.SYS_UNSHARE) + ":" + strconv.Itoa(int(unix.EPERM))},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestForkersUnderSeccomp$", "-test.v")
			// GORACE: no second of grace at a race-enabled child's exit.
			cmd.Env = append(os.Environ(), seccompChildEnv+"="+c.deny, "GORACE=atexit_sleep_ms=0")
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "--- PASS: TestForkersUnderSeccomp") {
				t.Fatalf("child with %s refused: %v\n%s", c.deny, err, out)
			}
		})
	}
}

// forkUnderSeccomp is the child's side: deny is "NR:ERRNO".
func forkUnderSeccomp(t *testing.T, deny string) {
	a, b, _ := strings.Cut(deny, ":")
	nr, err1 := strconv.Atoi(a)
	errno, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil {
		t.Fatalf("%s=%q: want NR:ERRNO", seccompChildEnv, deny)
	}
	if err := denySyscall(nr, errno); err != nil {
		t.Fatalf("install the seccomp filter: %v", err)
	}
	// The filter bites: with these arguments the call would fail with
	// EBADF or EINVAL, and changes nothing either way.
	if _, _, e := unix.Syscall(uintptr(nr), ^uintptr(0), ^uintptr(0), 0); e != syscall.Errno(errno) {
		t.Fatalf("syscall %d under the filter: %v, want %v", nr, e, syscall.Errno(errno))
	}
	f := NewForkers(2)
	defer f.Close()
	forkTrue(t, f)
	forkTrue(t, f) // finds the forkers off for good, or never started
	switch {
	case nr != unix.SYS_PIDFD_GETFD:
		// Refused while a forker set up its thread: none started.
		if f != nil {
			t.Errorf("forkers started although syscall %d was refused", nr)
		}
	case f == nil:
		t.Error("no forker started: only pidfd_getfd was refused")
	case !f.off.Load():
		t.Errorf("forkers still on after pidfd_getfd was refused")
	}
}

// denySyscall installs, for every thread of this process, a seccomp
// filter under which system call nr fails with errno and every other
// call runs.
func denySyscall(nr, errno int) error {
	prog := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}, // seccomp_data.nr
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: uint32(nr)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(errno)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	_, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	if e != 0 {
		return e
	}
	return nil
}
