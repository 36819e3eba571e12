package daemon

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// A child spawned in the last moments before a crash can have its pipes
// in the keeper but no line in the state file yet (the writer coalesces).
// Nothing takes it over, so it would run on beside the copy autostart
// starts now: killOrphan ends it, once the pipe proves it is that child.

// killOrphan kills (SIGKILL, its process group when it leads one) the
// process whose pipes the keeper held under key ("pid:N") but the state
// file does not name, if its stdout is still the kept pipe. It says what
// it did ("" when the key names no such process).
func killOrphan(key string, it keptItem) string {
	pid, err := strconv.Atoi(strings.TrimPrefix(key, "pid:"))
	if err != nil || !strings.HasPrefix(key, "pid:") || pid <= 1 {
		return ""
	}
	kept := -1
	for i, l := range it.labels {
		if l == "1" {
			kept = it.fds[i]
		}
	}
	if kept < 0 {
		return ""
	}
	var st unix.Stat_t
	if unix.Fstat(kept, &st) != nil {
		return ""
	}
	want := fmt.Sprintf("pipe:[%d]", st.Ino)
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return ""
	}
	defer unix.Close(pidfd)
	// Checked after pidfd_open: the pidfd then names the process that
	// holds the pipe, not a later one with a reused pid.
	if l, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/fd/1"); err != nil || l != want {
		return ""
	}
	if pg, err := unix.Getpgid(pid); err == nil && pg == pid {
		_ = unix.Kill(-pid, unix.SIGKILL)
	}
	if err := unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0); err != nil {
		return fmt.Sprintf("could not kill pid %d, spawned just before the crash and not recorded: %v", pid, err)
	}
	return fmt.Sprintf("killed pid %d, spawned just before the crash and not recorded (its program starts afresh)", pid)
}
