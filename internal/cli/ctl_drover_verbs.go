package cli

import (
	"context"
	"slices"
	"strconv"

	"github.com/drover-sh/drover/internal/supervisor"
)

// ctlScale is `drover scale NAME COUNT`: one drover.scale call. Output,
// one line per process added or removed: "web:web_2: started",
// "web:web_3: removed", or "web:web_2: ERROR (...)" (exit 1).
func ctlScale(c *ctl, ctx context.Context, args []string) error {
	n, err := 0, error(nil)
	if len(args) == 2 {
		n, err = strconv.Atoi(args[1])
	}
	if len(args) != 2 || err != nil || n < 1 {
		c.println("Error: scale needs a program name and a count of at least 1")
		c.exit = exitGeneric
		c.usage("scale")
		return nil
	}
	if ok, err := c.upcheck(ctx); !ok {
		return err
	}
	v, err := c.call(ctx, "drover.scale", args[0], n)
	if f, ok := asFault(err); ok {
		c.exit = exitGeneric
		switch f.Code {
		case supervisor.CodeBadName:
			c.println("ERROR: no such program: " + args[0])
		case supervisor.CodeUnknownMethod:
			c.println("ERROR: the daemon has no drover.scale (supervisord?)")
		default:
			c.println("ERROR: " + f.Error())
		}
		return nil
	}
	if err != nil {
		return err
	}
	rs, err := resultsFrom(v)
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		c.println(args[0] + ": already " + args[1] + " processes")
	}
	for _, r := range rs {
		switch {
		case r.code == supervisor.CodeSuccess && r.desc == "removed":
			c.println(r.name + ": removed")
		case r.code == supervisor.CodeSuccess:
			c.println(r.name + ": started")
		default:
			c.println(errLine(r.name, r.desc))
			c.exit = exitGeneric
		}
	}
	return nil
}

// ctlLogrotate is `drover logrotate [name ...]`: drover.rotateAllLogs
// without names (or with all), else drover.rotateLogs per name. One line
// per process: "web: rotated", or "web: ERROR (...)" (exit 1).
func ctlLogrotate(c *ctl, ctx context.Context, args []string) error {
	if ok, err := c.upcheck(ctx); !ok {
		return err
	}
	if len(args) == 0 || slices.Contains(args, "all") {
		args = []string{""}
	}
	for _, name := range args {
		var v any
		var err error
		if name == "" {
			v, err = c.call(ctx, "drover.rotateAllLogs")
		} else {
			v, err = c.call(ctx, "drover.rotateLogs", name)
		}
		if f, ok := asFault(err); ok {
			c.exit = exitGeneric
			switch f.Code {
			case supervisor.CodeBadName:
				c.println(name + ": ERROR (no such process)")
			case supervisor.CodeUnknownMethod:
				c.println("ERROR: the daemon cannot rotate logs (supervisord?)")
				return nil
			default:
				c.println("ERROR: " + f.Error())
			}
			continue
		}
		if err != nil {
			return err
		}
		rs, err := resultsFrom(v)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if r.code == supervisor.CodeSuccess {
				c.println(r.name + ": rotated")
			} else {
				c.println(errLine(r.name, r.desc))
				c.exit = exitGeneric
			}
		}
	}
	return nil
}
