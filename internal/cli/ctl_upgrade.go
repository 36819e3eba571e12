package cli

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/drover-sh/drover/internal/daemon"
	"github.com/spf13/cobra"
)

// ctlUpgrade is `drover upgrade [--binary PATH]`: the daemon re-execs the
// new binary in place (same pid, every program keeps running). It asks
// drover.upgrade, then asks the daemon's version on a new connection, which
// the new image answers (connections queue meanwhile), and says whether
// the upgrade happened.
func ctlUpgrade(c *ctl, ctx context.Context, args []string) error {
	path := ""
	switch {
	case len(args) == 2 && args[0] == "--binary":
		path = args[1]
	case len(args) == 1 && len(args[0]) > len("--binary=") && args[0][:len("--binary=")] == "--binary=":
		path = args[0][len("--binary="):]
	case len(args) != 0:
		c.println("Error: upgrade accepts only --binary PATH")
		c.exit = exitGeneric
		c.usage("upgrade")
		return nil
	}
	if path != "" {
		abs, err := filepath.Abs(path)
		if err != nil {
			return err
		}
		path = abs
	}
	v, err := c.call(ctx, "drover.upgrade", path)
	if err != nil {
		if f, ok := asFault(err); ok {
			c.exit = exitGeneric
			c.note("ERROR: " + f.Detail)
			return nil
		}
		return err
	}
	res, _ := v.(map[string]any)
	// A new connection: the one that carried the answer is closed by the
	// old image; the next is served by whichever image runs now.
	c.close()
	c.client = nil
	now, err := c.call(ctx, "drover.getVersion")
	if err != nil {
		return fmt.Errorf("the daemon did not answer after the upgrade: %w", err)
	}
	happened := fmt.Sprint(now) == fmt.Sprint(res["to"])
	if old, ok := res["image"].(string); ok && old != "" && happened {
		// The same version may be another build (a reinstall): the image
		// tells. A new binary without drover.getImage is an older build:
		// its version said enough.
		img, err := c.call(ctx, "drover.getImage")
		if _, fault := asFault(err); err != nil && !fault {
			return fmt.Errorf("the daemon did not answer after the upgrade: %w", err)
		}
		happened = err != nil || fmt.Sprint(img) != old
	}
	if !happened {
		c.exit = exitGeneric
		c.note(fmt.Sprintf("ERROR: the upgrade did not happen: the daemon still runs %v (see its log)", now))
		return nil
	}
	if c.o.json {
		return c.writeJSON(res)
	}
	c.println(fmt.Sprintf("upgraded in place: pid %v, drover %v -> %v (%v)", res["pid"], res["from"], res["to"], res["path"]))
	return nil
}

// newHandoverProbeCmd is the hidden subcommand an upgrade's preflight
// runs in the new binary.
func newHandoverProbeCmd() *cobra.Command {
	return &cobra.Command{
		Use:    daemon.HandoverProbeArg + " VERSION CONFIG",
		Hidden: true,
		Args:   cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			return daemon.HandoverProbe(args, Version)
		},
	}
}
