package cli

import (
	"context"
	"fmt"
	"slices"

	"github.com/drover-sh/drover/internal/supervisor"
)

// droverUpdate is `drover update [group...]` against drover: one
// drover.update call, which rereads the config and applies it, handing
// changed groups off to their new config where they can be (see
// docs/zero-downtime.md). done is false when the daemon has no such method
// (supervisord) or a name is unknown: the caller then runs supervisorctl's
// update.
//
// Output, one line per group: "web: added process group", "web: updated
// process group (handed off, no downtime)" or "(stopped and started)",
// "web: stopped" and "web: removed process group", or "web: ERROR (...)"
// when a hand-off failed (the previous config keeps serving; exit 1).
func (c *ctl) droverUpdate(ctx context.Context, args []string) (done bool, err error) {
	names := make([]any, 0, len(args))
	for _, a := range args {
		if a == "all" {
			names = names[:0]
			break
		}
		names = append(names, a)
	}
	v, err := c.call(ctx, "drover.update", names)
	f, isFault := asFault(err)
	switch {
	case isFault && (f.Code == supervisor.CodeUnknownMethod || f.Code == supervisor.CodeBadName):
		// supervisord, or a name in neither config: supervisorctl's
		// update names each unknown group and applies the others.
		return false, nil
	case isFault && f.Code == supervisor.CodeShutdownState:
		c.exit = exitGeneric
		c.println("ERROR: already shutting down")
		return true, nil
	case isFault && f.Code == supervisor.CodeCantReread:
		c.exit = exitGeneric
		c.println("ERROR: " + f.Detail)
		return true, nil
	case err != nil:
		return true, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return true, fmt.Errorf("unexpected drover.update answer %v", v)
	}
	strs := func(key string) []string {
		list, _ := m[key].([]any)
		var out []string
		for _, e := range list {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	handed, scaled := strs("handed_off"), strs("scaled")
	for _, g := range strs("removed") {
		c.println(g + ": stopped")
		c.println(g + ": removed process group")
	}
	for _, g := range strs("changed") {
		if slices.Contains(scaled, g) {
			c.println(g + ": scaled to the config's numprocs (the other processes untouched)")
		} else if slices.Contains(handed, g) {
			c.println(g + ": updated process group (handed off, no downtime)")
		} else {
			c.println(g + ": updated process group (stopped and started)")
		}
	}
	for _, g := range strs("added") {
		c.println(g + ": added process group")
	}
	failed, err := resultsFrom(m["failed"])
	if err != nil {
		return true, err
	}
	for _, r := range failed {
		c.println(errLine(r.name, r.desc))
		c.exit = exitGeneric
	}
	return true, nil
}
