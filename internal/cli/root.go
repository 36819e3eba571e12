// Package cli holds drover's commands: one file per verb.
package cli

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"
)

// ExitCode is an error that carries the process exit status and has
// already been reported to the user.
type ExitCode int

func (e ExitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// commands lists every verb's constructor; each lives in its own file.
var commands = []func() *cobra.Command{}

// Execute runs the command line args (args[0] is the program name).
func Execute(args []string) error {
	root := &cobra.Command{
		Use:           "drover",
		Short:         "drover supervises processes, reads supervisord.conf and restarts servers without downtime",
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	for _, c := range commands {
		root.AddCommand(c())
	}
	_ = filepath.Base(args[0]) // name-based personalities (supervisord, supervisorctl) dispatch here later
	root.SetArgs(args[1:])
	return root.Execute()
}
