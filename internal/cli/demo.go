package cli

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/drover-sh/drover/internal/daemon"
	"github.com/drover-sh/drover/internal/demo"
	"github.com/spf13/cobra"
)

func newDemoCmd() *cobra.Command {
	var port int
	var keep bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run drover in the foreground on a built-in demo config (a web app and a worker)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := os.MkdirTemp("", "drover-demo-")
			if err != nil {
				return err
			}
			if !keep {
				defer os.RemoveAll(dir)
			}
			path, err := demo.WriteConfig(dir)
			if err != nil {
				return err
			}
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			os.Setenv("DROVER_DEMO_BIN", exe)
			os.Setenv("DROVER_DEMO_PORT", strconv.Itoa(port))
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, `drover demo: config %s
Try, from another terminal:
  curl http://127.0.0.1:%d/
  %s status -c %s
  %s tail -f -c %s web
  %s reload -c %s web
  supervisorctl -c %s status     # the real supervisorctl works too
Zero downtime: run this loop, then the reload command above in another terminal; no request fails:
  while :; do curl -sS http://127.0.0.1:%d/ || echo FAILED; done
Stop with Ctrl-C.

`, path, port, exe, path, exe, path, exe, path, path, port)
			// The daemon itself turns Ctrl-C into an ordered shutdown.
			return daemon.Run(cmd.Context(), daemon.Options{ConfigPath: path, Stdout: out, Stderr: cmd.ErrOrStderr(), Version: Version})
		},
	}
	cmd.Flags().IntVar(&port, "port", 18080, "port of the demo web app on 127.0.0.1 (drover owns the socket)")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the demo directory (config, logs) after exit")
	return cmd
}

// The demo's programs are drover itself in these hidden modes.
func newDemoAppCmd() *cobra.Command {
	var listen string
	var delay time.Duration
	cmd := &cobra.Command{
		Use:    "demo-app",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return demo.ServeApp(listen, delay)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:18080", "address when no socket is inherited")
	cmd.Flags().DurationVar(&delay, "delay", 0, "time each request takes")
	return cmd
}

func newDemoWorkerCmd() *cobra.Command {
	var interval time.Duration
	cmd := &cobra.Command{
		Use:    "demo-worker",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return demo.RunWorker(interval)
		},
	}
	cmd.Flags().DurationVar(&interval, "interval", 2*time.Second, "time between jobs")
	return cmd
}
