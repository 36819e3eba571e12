package cli

import (
	"errors"
	"fmt"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/daemon"
	"github.com/drover-sh/drover/internal/supervisor"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// supervisordFlags are supervisord's command-line options: each overrides
// the [supervisord] option of the same name. Boolean flags set "true".
var supervisordFlags = []struct {
	long, short, option, usage string
	boolean                    bool
}{
	{"nodaemon", "n", "nodaemon", "run in the foreground", true},
	{"silent", "s", "silent", "no log echo to stdout with -n", true},
	{"user", "u", "user", "run as this user (or numeric uid)", false},
	{"umask", "m", "umask", "umask for the daemon when detaching (e.g. 022)", false},
	{"directory", "d", "directory", "directory to chdir to when detaching", false},
	{"logfile", "l", "logfile", "main log file path", false},
	{"logfile_maxbytes", "y", "logfile_maxbytes", "main log rotation size", false},
	{"logfile_backups", "z", "logfile_backups", "main log backups to keep", false},
	{"loglevel", "e", "loglevel", "critical, error, warn, info, debug, trace or blather", false},
	{"pidfile", "j", "pidfile", "pid file path", false},
	{"identifier", "i", "identifier", "identifier for this instance", false},
	{"childlogdir", "q", "childlogdir", "directory for AUTO child logs", false},
	{"nocleanup", "k", "nocleanup", "keep old AUTO child logs at start-up", true},
	{"minfds", "a", "minfds", "minimum file descriptors to raise the limit to", false},
	{"minprocs", "", "minprocs", "minimum processes to raise the limit to", false},
	{"strip_ansi", "t", "strip_ansi", "strip ANSI escapes from child output", true},
}

func newRunCmd() *cobra.Command {
	var configPath string
	var showVersion bool
	overrides := map[string]*string{}
	bools := map[string]*bool{}
	cmd := &cobra.Command{
		Use:   "run [-c FILE] [-n] [supervisord options]",
		Short: "Run the daemon (accepts supervisord's options)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if showVersion {
				// As supervisord (a symlink), its version alone.
				v, ok := cmd.Annotations["version"]
				if !ok {
					v = versionLine()
				}
				fmt.Fprintln(cmd.OutOrStdout(), v)
				return nil
			}
			opts := daemon.Options{
				ConfigPath: configPath,
				Overrides:  map[string]string{},
				Stdout:     cmd.OutOrStdout(),
				Stderr:     cmd.ErrOrStderr(),
				Version:    Version,
			}
			cmd.Flags().Visit(func(f *pflag.Flag) {
				if v, ok := overrides[f.Name]; ok {
					opts.Overrides[f.Name] = *v
				}
				if b, ok := bools[f.Name]; ok && *b {
					opts.Overrides[f.Name] = "true"
				}
			})
			// The daemon handles TERM/INT/QUIT itself (ordered shutdown).
			return startupError(cmd, daemon.Run(cmd.Context(), opts))
		},
	}
	f := cmd.Flags()
	f.StringVarP(&configPath, "configuration", "c", "", "config file (default: supervisord's search order)")
	f.BoolVarP(&showVersion, "version", "v", false, "print the version and exit")
	for _, sf := range supervisordFlags {
		if sf.boolean {
			bools[sf.long] = f.BoolP(sf.long, sf.short, false, sf.usage)
		} else {
			overrides[sf.long] = f.StringP(sf.long, sf.short, "", sf.usage)
		}
	}
	return cmd
}

// Version is drover's version, set at build time with -ldflags.
var Version = "0.1.0-dev"

// startupError prints a config or start-up failure and turns it into exit
// status 2, as supervisord exits 2 when it cannot start.
func startupError(cmd *cobra.Command, err error) error {
	var list config.ErrorList
	var one *config.Error
	var policy *supervisor.ExitPolicy
	switch {
	case err == nil:
		return nil
	case errors.As(err, &policy):
		// exit_daemon_on ended the daemon after an ordered stop (logged).
		return ExitCode(policy.Code)
	case errors.Is(err, config.ErrNotFound):
		// supervisord: "Error: No config file found at default paths…"
		// and its usage hint, exit 2.
		fmt.Fprintf(cmd.ErrOrStderr(), "Error: %v\nFor help, use %s -h\n", err, cmd.CommandPath())
		return ExitCode(2)
	case errors.Is(err, daemon.ErrStartup):
		// The detached daemon's message was printed already.
		return ExitCode(2)
	case errors.As(err, &list), errors.As(err, &one), errors.Is(err, daemon.ErrStartupFailed):
		fmt.Fprintln(cmd.ErrOrStderr(), "Error:", err)
		return ExitCode(2)
	}
	return err
}
