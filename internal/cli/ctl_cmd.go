package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// ctlVerb is one supervisorctl command.
type ctlVerb struct {
	name  string
	args  string   // argument synopsis for drover's own help
	short string   // one line for `drover --help`
	help  []string // supervisorctl-style `help <verb>` lines
	json  bool     // accepts --json
	run   func(c *ctl, ctx context.Context, args []string) error
}

// ctlVerbs lists the commands in help order. It is a function, not a
// variable, because the commands print their own help (an
// initialisation cycle for a variable).
func ctlVerbs() []*ctlVerb {
	return []*ctlVerb{
		{"status", "[name|group:*|all ...]", "Show process states (exit 3 if one is stopped, 4 for a bad name)", []string{
			"status <name>\t\tGet status for a single process",
			"status <gname>:*\tGet status for all processes in a group",
			"status <name> <name>\tGet status for multiple named processes",
			"status\t\t\tGet all process status info"}, true, ctlStatus},
		{"start", "name|group:*|all ...", "Start processes", []string{
			"start <name>\t\tStart a process",
			"start <gname>:*\t\tStart all processes in a group",
			"start <name> <name>\tStart multiple processes or groups",
			"start all\t\tStart all processes"}, false, ctlStart},
		{"stop", "name|group:*|all ...", "Stop processes", []string{
			"stop <name>\t\tStop a process",
			"stop <gname>:*\t\tStop all processes in a group",
			"stop <name> <name>\tStop multiple processes or groups",
			"stop all\t\tStop all processes"}, false, ctlStop},
		{"restart", "name|group:*|all ...", "Stop then start processes", []string{
			"restart <name>\t\tRestart a process",
			"restart <gname>:*\tRestart all processes in a group",
			"restart <name> <name>\tRestart multiple processes or groups",
			"restart all\t\tRestart all processes",
			"Note: restart does not reread config files. For that, see reread and update."}, false, ctlRestart},
		{"signal", "SIG name|group:*|all ...", "Send a signal to processes", []string{
			"signal <signal name> <name>\t\tSignal a process",
			"signal <signal name> <gname>:*\t\tSignal all processes in a group",
			"signal <signal name> <name> <name>\tSignal multiple processes or groups",
			"signal <signal name> all\t\tSignal all processes"}, false, ctlSignal},
		{"tail", "[-f|-N] name [stdout|stderr]", "Show or follow a process log", []string{
			"tail [-f] <name> [stdout|stderr] (default stdout)",
			"Ex:",
			"tail -f <name>\t\tContinuous tail of named process stdout",
			"\t\t\tCtrl-C to exit.",
			"tail -100 <name>\tlast 100 *bytes* of process stdout",
			"tail <name> stderr\tlast 1600 *bytes* of process stderr"}, false, ctlTail},
		{"maintail", "[-f|-N]", "Show or follow the daemon's log", []string{
			"maintail -f \tContinuous tail of supervisor main log file (Ctrl-C to exit)",
			"maintail -100\tlast 100 *bytes* of supervisord main log file",
			"maintail\tlast 1600 *bytes* of supervisor main log file"}, false, ctlMaintail},
		{"pid", "[name|all ...]", "Show the daemon's or processes' pids", []string{
			"pid\t\t\tGet the PID of supervisord.",
			"pid <name>\t\tGet the PID of a single child process by name.",
			"pid all\t\t\tGet the PID of every child process, one per line."}, true, ctlPid},
		{"clear", "name|all ...", "Clear process logs", []string{
			"clear <name>\t\tClear a process' log files.",
			"clear <name> <name>\tClear multiple process' log files",
			"clear all\t\tClear all process' log files"}, false, ctlClear},
		{"avail", "", "List configured processes", []string{
			"avail\t\t\tDisplay all configured processes"}, true, ctlAvail},
		{"reread", "", "Reload the config without applying it", []string{
			"reread \t\t\tReload the daemon's configuration files without add/remove"}, false, ctlReread},
		{"update", "[all|group ...]", "Reload the config and apply changes to groups", []string{
			"update\t\t\tReload config and add/remove as necessary, and will restart affected programs",
			"update all\t\tReload config and add/remove as necessary, and will restart affected programs",
			"update <gname> [...]\tUpdate specific groups",
			"(drover update hands a changed group that reloads blue/green off to its new config without downtime; see docs/zero-downtime.md)"}, false, ctlUpdate},
		{"add", "group ...", "Activate groups from the last-read config", []string{
			"add <name> [...]\tActivates any updates in config for process/group"}, false, ctlAdd},
		{"remove", "group ...", "Remove stopped groups", []string{
			"remove <name> [...]\tRemoves process/group from active config"}, false, ctlRemove},
		{"shutdown", "", "Shut the daemon down", []string{
			"shutdown \tShut the remote supervisord down."}, false, ctlShutdown},
		{"reload", "[name|group:*|all ...]", "Reload programs without downtime by their reload strategy; without names, restart the daemon", []string{
			"reload \t\tRestart the remote supervisord."}, false, ctlReload},
		{"upgrade", "[--binary PATH]", "Replace the daemon in place by a new drover binary (default: the current binary's file) without restarting any program", []string{
			"upgrade [--binary PATH]\tRe-exec the daemon as the binary at PATH, keeping every process"}, true, ctlUpgrade},
		{"version", "", "Show the daemon's version", []string{
			"version\t\t\tShow the version of the remote supervisord process"}, false, ctlVersion},
		{"events", "[-f] [--json]", "Show the processes' states, with -f follow every state change and reload step", eventsHelp, true, ctlEvents},
		{"logrotate", "[name|group:*|all ...]", "Rotate process logs now", []string{
			"logrotate\t\tRotate the stdout and stderr logs of every process now (file.1, file.2 …",
			"\t\t\tas *_logfile_maxbytes does; an empty log is left alone)",
			"logrotate <name>\tRotate a process's logs",
			"logrotate <gname>:*\tRotate the logs of every process in a group"}, false, ctlLogrotate},
		{"scale", "name count", "Change the number of processes of a numprocs program now", []string{
			"scale <name> <count>\tRun count processes of the numprocs program name: new ones start",
			"\t\t\t(waiting for readiness), extra ones stop one at a time, highest",
			"\t\t\tprocess_num first. The next update restores the config file's numprocs."}, false, ctlScale},
		{"fg", "name", "Attach to a process: show its output, send it input", []string{
			"fg <process>\tConnect to a process in foreground mode",
			"\t\tCtrl-C to exit"}, false, ctlFg},
	}
}

// findVerb returns the verb called name, or nil.
func findVerb(name string) *ctlVerb {
	for _, v := range ctlVerbs() {
		if v.name == name {
			return v
		}
	}
	return nil
}

// ctlUsageText is the help of `drover ctl -h` and `supervisorctl -h`.
const ctlUsageText = `%s -- control applications run by drover or supervisord from the cmd line.

Usage: %s [options] [action [arguments]]

Options:
-c/--configuration FILENAME -- configuration file path (searches if not given)
-h/--help -- print usage message and exit
-i/--interactive -- start an interactive shell after executing commands
-s/--serverurl URL -- URL on which supervisord server is listening
     (default "http://localhost:9001").
-u/--username USERNAME -- username to use for authentication with server
-p/--password PASSWORD -- password to use for authentication with server
-r/--history-file -- keep a readline history (if readline is available)
--password-file FILE -- read the password from FILE (or set $DROVER_PASSWORD):
     unlike -p, it does not show in ps (drover)
--cacert FILE -- for an https:// server URL, the CA that signed its certificate
     (default: the system's) (drover)
--cert FILE --key FILE -- a client certificate for mutual TLS (drover)

action [arguments] -- see below

Actions are commands like "tail" or "stop".  If -i is specified or no action is
specified on the command line, a "shell" interpreting actions typed
interactively is started.  Use the action "help" to find out about available
actions.

drover additions: status, avail and pid accept --json. status prints the
getProcessInfo structs and avail the getAllConfigInfo structs as a JSON array
(members as in the XML-RPC API); pid prints {"pid": N} for the daemon, or
[{"name", "group", "pid"}] for processes. With --json, messages that are not
JSON go to stderr; exit statuses are unchanged. events (drover's own) prints
each process's state as an event, and with -f follows GET /events: every
state change and each step of a reload, one line each (--json: one JSON
object a line, as the stream carries it).
`

// ctlIO is where a client run reads and writes.
type ctlIO struct {
	in       io.Reader
	out, err io.Writer
}

func cobraIO(cmd *cobra.Command) ctlIO {
	return ctlIO{cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()}
}

// reportUsage prints a usage error as supervisorctl does and returns
// exit status 2.
func reportUsage(w io.Writer, prog string, err error) error {
	fmt.Fprintf(w, "Error: %v\nFor help, use %s -h\n", err, prog)
	return ExitCode(exitInvalidArgs)
}

// exitErr turns a final exit status into Execute's error.
func exitErr(code int) error {
	if code == 0 {
		return nil
	}
	return ExitCode(code)
}

// newCtlVerbCmd is `drover <verb> [options] [args]`. Options (-c, -s,
// -u, -p, --json, -h) may come anywhere among the arguments, so cobra's
// flag parsing is off: words like "-100" (tail) are arguments.
func newCtlVerbCmd(v *ctlVerb) *cobra.Command {
	cmd := &cobra.Command{
		Use:                v.name + " [options] " + v.args,
		Short:              v.short,
		Long:               verbHelp(v),
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCtlVerb(cmd.Context(), cobraIO(cmd), "drover "+v.name, v, args, ctlFlags{native: true})
		},
		ValidArgsFunction: func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			return completeVerb(v, args, toComplete)
		},
	}
	// `drover help VERB` prints what `drover VERB -h` prints.
	cmd.SetHelpFunc(func(c *cobra.Command, _ []string) { fmt.Fprint(c.OutOrStdout(), verbHelp(v)) })
	return cmd
}

// nativeHelp is the help of `drover VERB -h` and `drover help VERB`: the
// supervisorctl lines, or drover's own where the top-level verb does more
// (supervisorctl's forms keep supervisorctl's text).
func (v *ctlVerb) nativeHelp() []string {
	switch v.name {
	case "reload":
		return reloadHelp
	case "tail":
		return append(slices.Clone(v.help),
			"tail -f all [stdout|stderr]	Follow every process's log, line by line, each line",
			"			prefixed with its name (\"web | …\", \"web (stderr) | …\").")
	case "status":
		return append(slices.Clone(v.help),
			"status --usage		Also show CPU and RSS of each program's process tree (the default",
			"			on a terminal; --json always has them): CPU is the percent of one",
			"			CPU since the previous sample within a minute, else seconds (1.2s).")
	}
	return v.help
}

// reloadHelp describes both forms of `drover reload`.
var reloadHelp = []string{
	"reload 			Restart the daemon, as supervisorctl's reload: every program stops and starts again.",
	"reload <name>		Reload a program without downtime by its reload strategy (blue/green on",
	"			sockets=, or reload = signal/reexec) and wait until it is done.",
	"reload <gname>:*	Reload the running processes of a group, one at a time, each waiting",
	"			for readiness; the roll stops at the first failure and the rest keep serving.",
	"reload all		Reload every running process, one at a time, the same way.",
	"reload <name> <name>	Reload several programs or groups.",
	"reload --batch N <gname>:*	Roll N processes at a time.",
	"reload --progress <gname>:*	Show each hand-off as it happens (the default on a terminal).",
	"A program with neither sockets= nor reload= can only be restarted (stop, then start:",
	"requests fail meanwhile); the result line then says \"restarted (not zero-downtime: add",
	"sockets= or reload=)\" instead of \"reloaded\".",
}

// runCtlVerb runs one verb with its words; base holds options that came
// before the verb.
func runCtlVerb(ctx context.Context, io ctlIO, prog string, v *ctlVerb, args []string, base ctlFlags) error {
	f, pos, err := parseVerbArgs(args, base, true)
	if err != nil {
		return reportUsage(io.err, prog, err)
	}
	if f.help {
		if prog == "drover "+v.name { // not `drover ctl VERB -h`
			fmt.Fprint(io.out, verbHelp(v))
			return nil
		}
		for _, l := range v.help {
			fmt.Fprintln(io.out, l)
		}
		return nil
	}
	if f.json && !v.json {
		return reportUsage(io.err, prog, usagef("%s does not accept --json", v.name))
	}
	o, err := resolveCtlOptions(f, os.Args[0])
	if err != nil {
		return reportUsage(io.err, prog, err)
	}
	c := newCtl(o, prog, io.in, io.out, io.err)
	defer c.close()
	if ctx == nil {
		ctx = context.Background()
	}
	c.runVerb(ctx, v, pos)
	return exitErr(c.exit)
}

// newCtlCmd is `drover ctl`: supervisorctl's command line exactly
// (options first, then one command, or the shell without one).
func newCtlCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:                "ctl [-c FILE] [-s URL] [-u USER] [-p PASS] [-i] [-r FILE] [action [args]]",
		Short:              "supervisorctl: run one action, or an interactive shell without one",
		Long:               fmt.Sprintf(ctlUsageText, "drover ctl", "drover ctl"),
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSupervisorctl(cmd.Context(), cobraIO(cmd), "drover ctl", args)
		},
		ValidArgsFunction: func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			return completeCtl(args, toComplete)
		},
	}
	// `drover help ctl` prints what `drover ctl -h` prints.
	cmd.SetHelpFunc(func(c *cobra.Command, _ []string) { fmt.Fprint(c.OutOrStdout(), c.Long) })
	return cmd
}

// runSupervisorctl is supervisorctl's main: getopt options, then either
// one command (its words joined and split again, as supervisorctl does)
// with that command's exit status, or the interactive shell (exit 0).
func runSupervisorctl(ctx context.Context, io ctlIO, prog string, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	f, rest, err := parseGetopt(args)
	if err != nil {
		return reportUsage(io.err, prog, err)
	}
	if f.help {
		fmt.Fprintf(io.out, ctlUsageText, prog, prog)
		return nil
	}
	words := strings.Fields(strings.Join(rest, " "))
	if len(words) > 0 {
		if v := findVerb(words[0]); v != nil {
			return runCtlVerb(ctx, io, prog, v, words[1:], f)
		}
	}
	o, err := resolveCtlOptions(f, os.Args[0])
	if err != nil {
		return reportUsage(io.err, prog, err)
	}
	c := newCtl(o, prog, io.in, io.out, io.err)
	defer c.close()
	if len(words) > 0 { // help, quit, an unknown word…
		c.onecmd(ctx, strings.Join(words, " "))
		c.flush()
		return exitErr(c.exit)
	}
	c.o.interactive = true
	c.shell(ctx)
	return nil
}

// isCtlVerb reports whether name is a client verb.
func isCtlVerb(name string) bool { return findVerb(name) != nil }

// hoistCtlOptions lets client options come before the verb:
// `drover -c FILE status web` becomes `drover status -c FILE web`, and
// `drover -c FILE` alone becomes `drover ctl -c FILE` (the shell). Other
// command lines are returned unchanged.
func hoistCtlOptions(args []string) []string {
	var opts []string
	i := 0
	for i < len(args) {
		a := args[i]
		o, ok := ctlOption{}, false
		inline := false
		if name, isLong := strings.CutPrefix(a, "--"); isLong {
			name, _, inline = strings.Cut(name, "=")
			o, ok = lookupOption(name, true)
		} else if len(a) >= 2 && a[0] == '-' {
			o, ok = lookupOption(a[1:2], false)
			inline = len(a) > 2
		}
		if !ok || !o.takesValue || o.short == "r" {
			break
		}
		if inline {
			opts = append(opts, a)
			i++
			continue
		}
		if i+1 >= len(args) {
			return args
		}
		opts = append(opts, a, args[i+1])
		i += 2
	}
	if len(opts) == 0 {
		return args
	}
	if i == len(args) {
		return append([]string{"ctl"}, opts...)
	}
	if !isCtlVerb(args[i]) && args[i] != "ctl" {
		return args
	}
	out := append([]string{args[i]}, opts...)
	return append(out, args[i+1:]...)
}

// supervisorctlMain runs the binary as supervisorctl (args[0] is the
// program name): supervisorctl's options and verbs, its output and its
// exit statuses. Errors are ExitCode values, already reported.
func supervisorctlMain(args []string) error {
	return runSupervisorctl(context.Background(), ctlIO{os.Stdin, os.Stdout, os.Stderr}, args[0], args[1:])
}
