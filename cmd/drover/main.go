// Command drover is a process supervisor that reads supervisord.conf.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/drover-sh/drover/internal/cli"
	"github.com/drover-sh/drover/internal/daemon"
	"github.com/drover-sh/drover/internal/spawn"
)

func main() {
	// The spawn shim runs between fork and exec of every child: it must
	// come before anything else and never return on success.
	if spawn.IsShim(os.Args) {
		err := spawn.ShimMain(os.Args)
		// err already reads like supervisord's child message.
		fmt.Fprintf(os.Stderr, "drover: %v\n", err)
		fmt.Fprintln(os.Stderr, "drover: child process was not spawned")
		os.Exit(127)
	}
	// The fd keeper (crash survival) is as small as it can be: no command tree.
	if len(os.Args) > 1 && os.Args[1] == daemon.KeeperArg {
		if err := daemon.KeeperMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "drover fd keeper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	err := cli.Execute(os.Args)
	var ec cli.ExitCode
	switch {
	case err == nil:
	case errors.As(err, &ec):
		os.Exit(int(ec))
	default:
		fmt.Fprintln(os.Stderr, "drover:", err)
		os.Exit(1)
	}
}
