// Package cli holds drover's commands: one file per verb.
package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/drover-sh/drover/internal/daemon"
	"github.com/spf13/cobra"
)

// ExitCode is an error that carries the process exit status and has
// already been reported to the user.
type ExitCode int

func (e ExitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// exitUsage is supervisord's and supervisorctl's status for a command-line
// mistake (options.py usage(): exit 2).
const exitUsage = 2

// commands lists every verb's constructor but the client verbs (status,
// start, ...: one each from ctlVerbs); each lives in its own file.
var commands = []func() *cobra.Command{
	newRunCmd,
	newDemoCmd,
	newDemoAppCmd,
	newDemoWorkerCmd,
	newCheckCmd,
	newHashPasswordCmd,
	newCtlCmd,
	newHandoverProbeCmd,
	newVersionCmd,
}

// versionLine is what `drover --version` and `drover version` print.
func versionLine() string {
	return fmt.Sprintf("drover %s (supervisord %s compatible)", Version, daemon.SupervisorVersion)
}

// Execute runs the command line args (args[0] is the program name).
func Execute(args []string) error {
	name := ""
	if len(args) > 0 {
		name = filepath.Base(args[0])
	}
	// Invoked as `supervisorctl` (a symlink), the binary is the client
	// with supervisorctl's options and verbs.
	if name == "supervisorctl" {
		return supervisorctlMain(args)
	}
	// The client verbs parse their own options (cobra's flag parsing is
	// off for them), so they run without building the command tree:
	// `drover status` is what scripts and monitoring run in loops.
	if len(args) > 1 && name != "supervisord" {
		if rest := hoistCtlOptions(args[1:]); len(rest) > 0 {
			if v := findVerb(rest[0]); v != nil && v.name != "version" {
				return runCtlVerb(context.Background(), ctlIO{os.Stdin, os.Stdout, os.Stderr}, "drover "+v.name, v, rest[1:], ctlFlags{native: true})
			}
		}
	}
	rest := args[1:]
	var root *cobra.Command
	// Invoked as `supervisord` (a symlink), the binary is the daemon with
	// supervisord's options, messages and --version.
	if name == "supervisord" {
		root = daemonRoot()
		run, _, _ := root.Find([]string{"run"})
		asSupervisord(run, args[0])
		rest = append([]string{"run"}, rest...)
	} else if len(rest) > 0 && (rest[0] == cobra.ShellCompRequestCmd || rest[0] == cobra.ShellCompNoDescRequestCmd) {
		// Completing `drover -c FILE status …`: the same hoist.
		rest = append(rest[:1:1], hoistForCompletion(rest[1:])...)
	} else {
		rest = hoistCtlOptions(rest) // drover -c FILE status → drover status -c FILE
		if len(rest) > 0 && rest[0] == "run" {
			root = daemonRoot()
		}
	}
	if root == nil {
		root = NewRoot()
	}
	root.SetArgs(rest)
	return root.Execute()
}

// daemonRoot is the root with the run command alone, for the daemon: the
// whole tree (every verb and its flags) stayed in the daemon's heap and
// had it touch the code of every verb, ~0.7 MB of its RSS.
func daemonRoot() *cobra.Command {
	root := newRootCmd()
	root.AddCommand(newRunCmd())
	return root
}

// NewRoot builds drover's command tree (the man pages and completion
// scripts are generated from it).
func NewRoot() *cobra.Command {
	root := newRootCmd()
	for _, c := range commands {
		root.AddCommand(c())
	}
	for _, v := range ctlVerbs() {
		if v.name != "version" { // drover version is newVersionCmd
			root.AddCommand(newCtlVerbCmd(v))
		}
	}
	return root
}

// newRootCmd is the root command without its subcommands.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "drover",
		Short: "drover supervises processes, reads supervisord.conf and restarts servers without downtime",
		Long: `drover supervises processes, reads supervisord.conf and restarts servers without downtime.

The client verbs (status, start, stop, restart, signal, tail, ...) take
supervisorctl's options before or after the verb: -c FILE, -s URL, -u USER,
-p PASS (and --json where the verb prints JSON); see drover VERB -h.
Linked as supervisord or supervisorctl, the binary takes their command lines.`,
		SilenceUsage:  true,
		SilenceErrors: true, // main prints errors once
		Version:       Version,
		Args:          cobra.ArbitraryArgs,
		// With a word that is no command, a usage error (exit 2) rather
		// than cobra's help text with exit 0.
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return usageErr(cmd, fmt.Errorf("unknown command %q", args[0]))
		},
		ValidArgsFunction: cobra.NoFileCompletions,
	}
	root.SetHelpCommand(newHelpCmd(root))
	root.SetVersionTemplate(versionLine() + "\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageErr(c, err) })
	return root
}

// newHelpCmd is cobra's help command, except that a topic that is no
// command is a usage error (exit 2), as `drover bogus` is: cobra's own
// printed the root help and exited 0 (the root takes any argument).
func newHelpCmd(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := root.Find(args)
			if err != nil || cmd == nil || (cmd == root && len(args) > 0) || len(rest) > 0 && cmd.HasSubCommands() {
				return usageErr(root, fmt.Errorf("unknown help topic %q", strings.Join(args, " ")))
			}
			return cmd.Help()
		},
		ValidArgsFunction: func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []string
			for _, sub := range root.Commands() {
				if sub.IsAvailableCommand() && strings.HasPrefix(sub.Name(), toComplete) {
					out = append(out, sub.Name()+"\t"+sub.Short)
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
	}
}

// hoistForCompletion is hoistCtlOptions for __complete's words, whose last
// is the word being completed: after client options alone (`drover -c
// FILE <TAB>`) that word is a verb to complete.
func hoistForCompletion(args []string) []string {
	h := hoistCtlOptions(args)
	if len(h) != len(args) || len(args) < 2 {
		return h
	}
	if rest := hoistCtlOptions(args[:len(args)-1]); len(rest) > 0 && rest[0] == "ctl" && args[0] != "ctl" {
		return args[len(args)-1:] // only options before the word
	}
	return h
}

// usageErr reports a command-line mistake the way supervisord and
// supervisorctl do ("Error: …", then where help is) and exits 2.
func usageErr(c *cobra.Command, err error) error {
	fmt.Fprintf(c.ErrOrStderr(), "Error: %v\nFor help, use %s -h\n", err, c.CommandPath())
	return ExitCode(exitUsage)
}

// noArgs is cobra.NoArgs as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErr(cmd, fmt.Errorf("unexpected argument %q", args[0]))
	}
	return nil
}

// newVersionCmd is `drover version`: this binary's version. (supervisorctl's
// `version`, the daemon's answer to getSupervisorVersion, is `drover ctl
// version`.)
func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "version",
		Short:             "Show drover's version and the supervisord version it is compatible with",
		Args:              noArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), versionLine())
			return nil
		},
	}
}

// asSupervisord makes run answer as supervisord 4.2.5 does: --version
// prints the version alone (scripts parse it), and command-line mistakes
// use supervisord's wording with argv0 in the hint.
func asSupervisord(run *cobra.Command, argv0 string) {
	run.Annotations = map[string]string{"version": daemon.SupervisorVersion}
	mistake := func(msg string) error {
		fmt.Fprintf(run.ErrOrStderr(), "Error: %s\nFor help, use %s -h\n", msg, argv0)
		return ExitCode(exitUsage)
	}
	run.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return mistake(supervisordFlagError(err.Error()))
	})
	run.Args = func(_ *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		q := make([]string, len(args))
		for i, a := range args {
			q[i] = "'" + a + "'"
		}
		return mistake("positional arguments are not supported: [" + strings.Join(q, ", ") + "]")
	}
}

// supervisordFlagError words pflag's error as Python's getopt does.
func supervisordFlagError(msg string) string {
	switch {
	case strings.HasPrefix(msg, "unknown flag: "):
		return "option " + strings.TrimPrefix(msg, "unknown flag: ") + " not recognized"
	case strings.HasPrefix(msg, "unknown shorthand flag: "):
		// unknown shorthand flag: 'x' in -x
		if i := strings.LastIndex(msg, " in "); i >= 0 {
			return "option " + msg[i+4:i+6] + " not recognized"
		}
	case strings.HasPrefix(msg, "flag needs an argument: "):
		f := strings.TrimPrefix(msg, "flag needs an argument: ")
		if i := strings.LastIndex(f, " in "); i >= 0 { // 'c' in -c
			f = f[i+4:]
		}
		return "option " + f + " requires argument"
	}
	return msg
}
