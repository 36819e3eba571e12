package daemon

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
)

// Detaching works by re-exec, not fork: Go cannot fork a running runtime.
// The parent starts the same binary with the same arguments in a new
// session, stdio on /dev/null, cwd and umask from [supervisord], and waits
// on a pipe until the child reports that it is serving (or why it failed),
// so start-up errors still reach the terminal, as supervisord's do.

// envDetached marks the re-exec'd child; its value is the fd of the
// readiness pipe.
const envDetached = "DROVER_DETACHED_FD"

// ErrStartup is returned by the parent when the detached child failed; its
// message has been printed already.
var ErrStartup = errors.New("daemon failed to start")

// detached reports whether this process is the re-exec'd daemon child.
func detached() bool { return os.Getenv(envDetached) != "" }

// detach re-execs the daemon in a new session and waits for it to report
// readiness. It returns the child's pid once the child is serving.
func detach(dir string, umask int, stderr io.Writer) (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("could not find own executable: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer r.Close()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		w.Close()
		return 0, err
	}
	defer null.Close()
	env := append(os.Environ(), envDetached+"=3")
	if dir == "" {
		dir, _ = os.Getwd()
	}
	old := syscall.Umask(umask)
	pid, err := syscall.ForkExec(exe, os.Args, &syscall.ProcAttr{
		Dir:   dir,
		Env:   env,
		Files: []uintptr{null.Fd(), null.Fd(), null.Fd(), w.Fd()},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	})
	syscall.Umask(old)
	w.Close()
	if err != nil {
		return 0, fmt.Errorf("could not start the daemon: %w", err)
	}
	// The child writes "ok\n" when serving, or error lines and closes.
	line, rerr := bufio.NewReader(r).ReadString('\n')
	if line == "ok\n" {
		return pid, nil
	}
	rest, _ := io.ReadAll(r)
	msg := strings.TrimSpace(line + string(rest))
	if msg == "" && rerr != nil {
		msg = "the daemon exited during start-up"
	}
	fmt.Fprintln(stderr, msg)
	return 0, ErrStartup
}

// readyPipe is the detached child's end of the readiness pipe, or nil.
func readyPipe() *os.File {
	if !detached() {
		return nil
	}
	os.Unsetenv(envDetached)
	syscall.CloseOnExec(3) // children must not hold the parent's pipe open
	return os.NewFile(3, "ready")
}
