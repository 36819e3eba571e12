package spawn

import (
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// Signal sends sig to the child pid, or with group to its whole process
// group (kill(-pid): Start makes every child lead its own group). A vanished
// process gives an error wrapping ErrNoProcess; pid <= 1 is refused with
// ErrInvalidSpec, so a zero pid can never signal the daemon's own group or
// every process (kill(0) / kill(-1)).
func Signal(pid int, sig syscall.Signal, group bool) error {
	if pid <= 1 {
		return fmt.Errorf("signal %d to pid %d: %w", int(sig), pid, ErrInvalidSpec)
	}
	target := pid
	if group {
		target = -pid
	}
	err := unix.Kill(target, sig)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ESRCH):
		return fmt.Errorf("kill %d: %w", target, ErrNoProcess)
	}
	return fmt.Errorf("kill %d: %w", target, err)
}
