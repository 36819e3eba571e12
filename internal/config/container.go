package config

import "strings"

// containerOptions are drover's [program:x] keys for running in a
// container (docs/config.md "Containers"). supervisord ignores them.
var containerOptions = []string{
	"stdout_console", "stderr_console", "exit_daemon_on", "exit_daemon_code",
}

// ExitDaemonOn says when a program's end makes the daemon exit.
type ExitDaemonOn uint8

const (
	// ExitDaemonNever is the default: the daemon runs on.
	ExitDaemonNever ExitDaemonOn = iota
	// ExitDaemonFatal: the program entered FATAL (it could not be kept
	// running within startretries).
	ExitDaemonFatal
	// ExitDaemonExit: the program ended for good: FATAL, or EXITED with
	// no restart due (autorestart=false, or an expected exit code with
	// autorestart=unexpected).
	ExitDaemonExit
)

func (e ExitDaemonOn) String() string {
	switch e {
	case ExitDaemonFatal:
		return "fatal"
	case ExitDaemonExit:
		return "exit"
	}
	return "never"
}

// Container holds a program's container options.
type Container struct {
	// StdoutConsole and StderrConsole copy each line of the program's
	// stdout (stderr) to drover's own stdout (stderr), prefixed with the
	// process name, besides any log file.
	StdoutConsole, StderrConsole bool
	// ExitDaemonOn makes the daemon stop everything in order and exit
	// when the program ends that way.
	ExitDaemonOn ExitDaemonOn
	// ExitDaemonCode is the daemon's exit status then, when
	// HasExitDaemonCode; otherwise 1 for FATAL and the program's own
	// status (128+N for a signal) for an exit.
	ExitDaemonCode    int
	HasExitDaemonCode bool
}

func exitDaemonOn(s string) (ExitDaemonOn, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "never", "false", "":
		return ExitDaemonNever, nil
	case "fatal":
		return ExitDaemonFatal, nil
	case "exit":
		return ExitDaemonExit, nil
	}
	return 0, verr("%q is not one of never, fatal, exit", s)
}

// buildContainer reads the container options of one [program:x] section;
// redirectStderr is the section's redirect_stderr.
func buildContainer(g *getter, redirectStderr bool) Container {
	var c Container
	c.StdoutConsole = g.bool("stdout_console")
	c.StderrConsole = g.bool("stderr_console")
	if c.StderrConsole && redirectStderr {
		g.warn("stderr_console", "ignored because redirect_stderr=true (stderr goes to stdout: use stdout_console)")
		c.StderrConsole = false
	}
	c.ExitDaemonOn, _ = conv(g, "exit_daemon_on", exitDaemonOn)
	if n, ok := conv(g, "exit_daemon_code", toInt); ok {
		if n < 0 || n > 255 {
			g.failf("exit_daemon_code", "%d is out of range: use 0 to 255", n)
		}
		c.ExitDaemonCode, c.HasExitDaemonCode = n, true
		if c.ExitDaemonOn == ExitDaemonNever {
			g.warn("exit_daemon_code", "has no effect without exit_daemon_on=fatal or exit")
		}
	}
	return c
}
