package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// The running daemon holds an exclusive flock on its pidfile for its whole
// life, so a second daemon on the same config learns it is not alone before
// it touches anything shared (AUTO logs), also when there is no control
// socket to find taken. A lock, unlike the pid in the file, dies with the
// daemon: a stale pidfile (a crash, a reboot, a reused pid) never blocks.

// checkPidfile fails when a live daemon holds the lock on path.
func checkPidfile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil // none yet; writePidfile reports a path that cannot be written
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); errors.Is(err, unix.EWOULDBLOCK) {
		b, _ := os.ReadFile(path)
		return fmt.Errorf("another daemon (pid %s) is running on this config: it holds the pidfile %s", bytes.TrimSpace(b), path)
	}
	return nil
}

// writePidfile writes pid atomically (temp file + rename), so a reader never
// sees a partial number, and returns the file, locked: keep it open while
// the daemon runs.
func writePidfile(path string, pid int) (*os.File, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".drover-pid-*")
	if err != nil {
		return nil, fmt.Errorf("could not write pidfile %s: %w", path, err)
	}
	fail := func(err error) (*os.File, error) {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("could not write pidfile %s: %w", path, err)
	}
	if err := unix.Flock(int(tmp.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return fail(err)
	}
	if _, err := tmp.WriteString(strconv.Itoa(pid) + "\n"); err != nil {
		return fail(err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fail(err)
	}
	return tmp, nil
}

// removePidfile removes path only if it still holds pid, so a second daemon
// that took over the pidfile keeps it, and drops the lock.
func removePidfile(path string, pid int, lock *os.File) {
	defer lock.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	if n, err := strconv.Atoi(string(bytes.TrimSpace(b))); err == nil && n == pid {
		os.Remove(path)
	}
}
