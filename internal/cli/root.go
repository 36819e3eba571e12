// Package cli holds drover's commands: one file per verb.
package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

// ExitCode is an error that carries the process exit status and has
// already been reported to the user.
type ExitCode int

func (e ExitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

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
}

// Execute runs the command line args (args[0] is the program name).
func Execute(args []string) error {
	// Invoked as `supervisorctl` (a symlink), the binary is the client
	// with supervisorctl's options and verbs.
	if len(args) > 0 && filepath.Base(args[0]) == "supervisorctl" {
		return supervisorctlMain(args)
	}
	// The client verbs parse their own options (cobra's flag parsing is
	// off for them), so they run without building the command tree:
	// `drover status` is what scripts and monitoring run in loops.
	if len(args) > 1 && filepath.Base(args[0]) != "supervisord" {
		if rest := hoistCtlOptions(args[1:]); len(rest) > 0 {
			if v := findVerb(rest[0]); v != nil {
				return runCtlVerb(context.Background(), ctlIO{os.Stdin, os.Stdout, os.Stderr}, "drover "+v.name, v, rest[1:], ctlFlags{native: true})
			}
		}
	}
	root := &cobra.Command{
		Use:           "drover",
		Short:         "drover supervises processes, reads supervisord.conf and restarts servers without downtime",
		SilenceUsage:  true,
		SilenceErrors: true, // main prints errors once
		Version:       Version,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		fmt.Fprintf(c.ErrOrStderr(), "drover %s: %v\n", c.Name(), err)
		return ExitCode(2)
	})
	for _, c := range commands {
		root.AddCommand(c())
	}
	for _, v := range ctlVerbs() {
		root.AddCommand(newCtlVerbCmd(v))
	}
	rest := args[1:]
	// Invoked as `supervisord` (a symlink), the binary is the daemon with
	// supervisord's options.
	if len(args) > 0 && filepath.Base(args[0]) == "supervisord" {
		rest = append([]string{"run"}, rest...)
	} else {
		rest = hoistCtlOptions(rest) // drover -c FILE status → drover status -c FILE
	}
	root.SetArgs(rest)
	return root.Execute()
}
