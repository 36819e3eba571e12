package spawn

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// LimitError is a minfds/minprocs requirement the environment cannot meet;
// its message is supervisord's startup error for that setting.
type LimitError struct {
	Resource string // "RLIMIT_NOFILE" or "RLIMIT_NPROC"
	Min      uint64
	Hard     uint64 // the hard limit that could not be raised
	Err      error
}

func (e *LimitError) Unwrap() error { return e.Err }

func (e *LimitError) Error() string {
	if e.Resource == "RLIMIT_NOFILE" {
		return fmt.Sprintf("The minimum number of file descriptors required to run this process is %d "+
			`as per the "minfds" command-line argument or config file setting. The current environment `+
			"will only allow you to open %d file descriptors.  Either raise the number of usable file "+
			"descriptors in your environment (see README.rst) or lower the minfds setting in the config "+
			"file to allow the process to start.", e.Min, e.Hard)
	}
	return fmt.Sprintf("The minimum number of available processes required to run this program is %d "+
		`as per the "minprocs" command-line argument or config file setting. The current environment `+
		"will only allow you to open %d processes.  Either raise the number of usable processes in "+
		"your environment (see README.rst) or lower the minprocs setting in the config file to allow "+
		"the program to start.", e.Min, e.Hard)
}

// RaiseLimits applies [supervisord] minfds and minprocs to the daemon, as
// supervisord does at first start: a soft limit below the minimum is
// raised to it, the hard limit too when it is lower (which needs root).
// Children inherit the result. It returns informational lines for the log
// ("Increased RLIMIT_NOFILE limit to 4096"), or a *LimitError with
// supervisord's text when the limit cannot be raised (then nothing else
// was changed for that resource).
//
// RLIMIT_NOFILE and the Go runtime: at startup Go raises its own soft
// limit to hard-1 and silently restores the original soft limit in every
// child it forks, unless the program calls setrlimit. The original value
// is not observable afterwards, so when Go has raised it (soft == hard-1)
// RaiseLimits pins the soft limit to exactly minfds; children then get
// minfds, which equals supervisord's max(original, minfds) unless the
// daemon was started with a soft limit above minfds (then children get
// minfds instead of that value). When Go did not raise it (soft == hard,
// e.g. Docker, or a systemd LimitNOFILE=N), behaviour is supervisord's.
func RaiseLimits(minfds, minprocs uint64) ([]string, error) {
	var infos []string
	if minfds > 0 {
		info, err := raiseNOFILE(minfds)
		if err != nil {
			return infos, err
		}
		infos = append(infos, info...)
	}
	if minprocs > 0 {
		var lim syscall.Rlimit
		if err := syscall.Getrlimit(unix.RLIMIT_NPROC, &lim); err != nil {
			return infos, err
		}
		if below(lim.Cur, minprocs) {
			nl := syscall.Rlimit{Cur: minprocs, Max: lim.Max}
			if below(lim.Max, minprocs) {
				nl.Max = minprocs
			}
			if err := syscall.Setrlimit(unix.RLIMIT_NPROC, &nl); err != nil {
				return infos, &LimitError{Resource: "RLIMIT_NPROC", Min: minprocs, Hard: lim.Max, Err: err}
			}
			infos = append(infos, fmt.Sprintf("Increased RLIMIT_NPROC limit to %d", minprocs))
		}
	}
	return infos, nil
}

func raiseNOFILE(min uint64) ([]string, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return nil, err
	}
	goRaised := lim.Max != unix.RLIM_INFINITY && lim.Max > 0 && lim.Cur == lim.Max-1
	if !goRaised && !below(lim.Cur, min) {
		return nil, nil
	}
	nl := syscall.Rlimit{Cur: min, Max: lim.Max}
	if below(lim.Max, min) {
		nl.Max = min
	}
	if err := syscall.Setrlimit(unix.RLIMIT_NOFILE, &nl); err != nil {
		return nil, &LimitError{Resource: "RLIMIT_NOFILE", Min: min, Hard: lim.Max, Err: err}
	}
	if goRaised {
		return []string{fmt.Sprintf("Set RLIMIT_NOFILE soft limit to %d", min)}, nil
	}
	return []string{fmt.Sprintf("Increased RLIMIT_NOFILE limit to %d", min)}, nil
}

// below reports cur < min where RLIM_INFINITY is above everything.
func below(cur, min uint64) bool { return cur != unix.RLIM_INFINITY && cur < min }
