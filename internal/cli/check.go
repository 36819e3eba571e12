package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/drover-sh/drover/internal/config"
	"github.com/spf13/cobra"
)

// newCheckCmd is `drover check`: read a supervisord.conf as supervisord 4.2
// would, print warnings, and exit 0 when it is valid or 2 with every error.
func newCheckCmd() *cobra.Command {
	var file string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "check [-c FILE] [--json]",
		Short: "check a supervisord.conf: print warnings, exit 2 with every error",
		Long: `check reads a configuration file (with its [include]s) exactly as
supervisord 4.2 does and reports what is wrong with file:line. Warnings
(unknown options, includes matching nothing, ...) do not fail the check.
With --json it prints the resolved groups and processes in the field names
of the corpus reference (EXPECTED_supervisor-4.2.5.jsonl "parsed").
Without -c the file is searched for as supervisord does.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			if file == "" {
				p, err := config.Find(os.Args[0])
				if err != nil {
					fmt.Fprintln(errOut, "drover check:", err)
					return ExitCode(2)
				}
				file = p
			}
			cfg, err := config.Load(file, config.Options{})
			if err != nil {
				var list config.ErrorList
				if errors.As(err, &list) {
					for _, e := range list {
						fmt.Fprintln(errOut, e)
					}
				} else {
					fmt.Fprintln(errOut, err)
				}
				fmt.Fprintf(errOut, "%s: invalid (%d error(s))\n", file, max(len(list), 1))
				return ExitCode(2)
			}
			rejected := 0
			for _, w := range cfg.Warnings {
				if w.Rejected {
					rejected++
					fmt.Fprintln(errOut, w.String())
					continue
				}
				fmt.Fprintln(errOut, "warning:", w.String())
			}
			if rejected > 0 {
				fmt.Fprintf(errOut, "%s: invalid (%d error(s))\n", file, rejected)
				return ExitCode(2)
			}
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetEscapeHTML(false)
				enc.SetIndent("", "  ")
				return enc.Encode(cfg.Dump())
			}
			procs := 0
			for _, g := range cfg.Groups {
				procs += len(g.Processes)
			}
			fmt.Fprintf(out, "%s: valid (%d files, %d groups, %d processes, %d warnings)\n",
				file, len(cfg.Files), len(cfg.Groups), procs, len(cfg.Warnings))
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "configuration", "c", "", "the configuration file (default: supervisord's search order)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the resolved config as JSON")
	return cmd
}
