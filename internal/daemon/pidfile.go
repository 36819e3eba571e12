package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// writePidfile writes pid atomically (temp file + rename), so a reader never
// sees a partial number.
func writePidfile(path string, pid int) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".drover-pid-*")
	if err != nil {
		return fmt.Errorf("could not write pidfile %s: %w", path, err)
	}
	_, werr := tmp.WriteString(strconv.Itoa(pid) + "\n")
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("could not write pidfile %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("could not write pidfile %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("could not write pidfile %s: %w", path, err)
	}
	return nil
}

// removePidfile removes path only if it still holds pid, so a second daemon
// that took over the pidfile keeps it.
func removePidfile(path string, pid int) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	if n, err := strconv.Atoi(string(bytes.TrimSpace(b))); err == nil && n == pid {
		os.Remove(path)
	}
}
