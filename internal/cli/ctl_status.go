package cli

import (
	"github.com/drover-sh/drover/internal/supervisor"

	"context"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// procStatus is one process as status prints it.
type procStatus struct {
	group, name, statename, description string
	state                               int
	// generation and handoffPID are drover's (0 from supervisord): the
	// serving generation and the other generation's pid during a
	// hand-off.
	generation, handoffPID int
	// m is the whole getProcessInfo struct, for --json (nil otherwise).
	m info
	// use is the sampled CPU and RSS (drover.getAllProcessUsage); nil
	// when not asked for or not available.
	use *procUsage
}

// ctlStatus is supervisorctl's do_status. `drover status` (native) asks
// drover's own methods first: one call, drover.getAllProcessStatus (a
// quarter of getAllProcessInfo's bytes) or drover.getAllProcessInfo for
// --json, and shows a hand-off under way. A server without them
// (supervisord) gets supervisorctl's calls: the getVersion up-check, then
// getAllProcessInfo. `drover ctl status` always makes supervisorctl's
// calls and prints exactly its lines.
//
// `drover status` also shows the CPU and RSS of each program's process
// tree (drover.getAllProcessUsage, one more call that samples /proc) when
// stdout is a terminal or with --usage, and always with --json: scripts
// that parse the lines see supervisorctl's three columns.
func ctlStatus(c *ctl, ctx context.Context, args []string) error {
	wantUsage := c.o.native && (c.tty || c.o.json)
	if c.o.native {
		if i := slices.Index(args, "--usage"); i >= 0 {
			args = slices.Delete(slices.Clone(args), i, i+1)
			wantUsage = true
		}
	}
	all, ok, err := c.fetchStatus(ctx)
	if !ok {
		if err != nil {
			return err
		}
		c.exit = exitStatusUnknown
		return nil
	}
	matching := all
	if len(args) > 0 && !slices.Contains(args, "all") {
		matching = []procStatus{}
		for _, name := range args {
			group, proc, whole := splitNamespec(name)
			bad := true
			for _, p := range all {
				if p.group == group && (whole || p.name == proc) {
					bad = false
					matching = append(matching, p)
				}
			}
			if bad {
				if whole {
					c.note(errLine(group, "no such group"))
				} else {
					c.note(errLine(name, "no such process"))
				}
				c.exit = exitStatusUnknown
			}
		}
	}
	if wantUsage {
		c.addUsage(ctx, matching)
	}
	if c.o.json {
		structs := make([]info, len(matching))
		for i, p := range matching {
			structs[i] = p.m
			if p.use != nil && p.m != nil {
				p.use.addTo(p.m)
			}
		}
		if err := c.writeJSON(structs); err != nil {
			return err
		}
	} else {
		c.writeStatus(matching)
	}
	for _, p := range matching {
		if isStoppedState(p.state) {
			c.exit = exitStatusNotRunning
		}
	}
	return nil
}

// fetchStatus gets every process; ok is false when that failed: err says
// why, or is nil when the up-check reported it.
func (c *ctl) fetchStatus(ctx context.Context) ([]procStatus, bool, error) {
	if c.o.native {
		method := "drover.getAllProcessStatus"
		if c.o.json {
			method = "drover.getAllProcessInfo"
		}
		v, err := c.call(ctx, method)
		if f, isFault := asFault(err); !isFault || f.Code != supervisor.CodeUnknownMethod {
			if err != nil {
				ok, err := c.upcheckFailed(err)
				return nil, ok, err
			}
			all, err := statusFrom(v)
			return all, err == nil, err
		}
		// Not drover: supervisorctl's calls.
	}
	if ok, err := c.upcheck(ctx); !ok {
		return nil, false, err
	}
	v, err := c.call(ctx, "getAllProcessInfo")
	if err != nil {
		return nil, false, err
	}
	all, err := statusFrom(v)
	return all, err == nil, err
}

// statusFrom reads getAllProcessInfo's structs or
// drover.getAllProcessStatus's arrays.
func statusFrom(v any) ([]procStatus, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("unexpected answer %T, want an array", v)
	}
	out := make([]procStatus, len(arr))
	for i, e := range arr {
		switch e := e.(type) {
		case map[string]any:
			out[i] = procStatus{group: infoStr(e, "group"), name: infoStr(e, "name"), state: infoInt(e, "state"),
				statename: infoStr(e, "statename"), description: infoStr(e, "description"),
				generation: infoInt(e, "generation"), handoffPID: infoInt(e, "handoff_pid"), m: e}
		case []any:
			p, ok := statusRow(e)
			if !ok {
				return nil, fmt.Errorf("unexpected status entry %v", e)
			}
			out[i] = p
		default:
			return nil, fmt.Errorf("unexpected array element %T, want a struct", e)
		}
	}
	return out, nil
}

// statusRow reads one drover.getAllProcessStatus entry: [group, name,
// state, statename, description, generation, handoff_pid].
func statusRow(e []any) (procStatus, bool) {
	var p procStatus
	var ok [7]bool
	if len(e) < len(ok) {
		return p, false
	}
	p.group, ok[0] = e[0].(string)
	p.name, ok[1] = e[1].(string)
	p.state, ok[2] = e[2].(int)
	p.statename, ok[3] = e[3].(string)
	p.description, ok[4] = e[4].(string)
	p.generation, ok[5] = e[5].(int)
	p.handoffPID, ok[6] = e[6].(int)
	return p, !slices.Contains(ok[:], false)
}

// writeStatus prints status lines as supervisorctl does: the name column
// is as wide as the longest name (at least 30) plus 3 characters, the
// state takes 10, then the description. drover's own status adds a
// hand-off under way (the serving generation and the other one's pid).
func (c *ctl) writeStatus(all []procStatus) {
	width := 30
	names := make([]string, len(all))
	for i, p := range all {
		names[i] = namespec(p.group, p.name)
		width = max(width, utf8.RuneCountInString(names[i]))
	}
	withUsage := false
	for _, p := range all {
		withUsage = withUsage || p.use != nil
	}
	var line []byte
	for i, p := range all {
		line = pad(append(line[:0], names[i]...), width+3-utf8.RuneCountInString(names[i]))
		line = pad(append(line, p.statename...), 10-utf8.RuneCountInString(p.statename))
		if withUsage {
			line = appendUsageCols(line, p.use)
		}
		line = append(line, p.description...)
		if c.o.native && p.handoffPID != 0 {
			line = append(line, ", generation "...)
			line = strconv.AppendInt(line, int64(p.generation), 10)
			line = append(line, ", handing off with pid "...)
			line = strconv.AppendInt(line, int64(p.handoffPID), 10)
		}
		c.out.Write(append(line, '\n'))
	}
}

// pad appends n spaces (none when n <= 0).
func pad(b []byte, n int) []byte {
	for ; n > 0; n-- {
		b = append(b, ' ')
	}
	return b
}
