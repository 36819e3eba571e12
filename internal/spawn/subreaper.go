package spawn

import "golang.org/x/sys/unix"

// BecomeSubreaper makes the calling process a child subreaper, so orphaned
// descendants (re-exec'd masters, daemonizing children) are re-parented to
// it instead of to init, and the Reaper reports their exits as unknown
// pids. It affects the whole process and lasts until exec.
func BecomeSubreaper() error {
	return unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
}
