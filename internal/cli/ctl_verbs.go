package cli

import (
	"github.com/drover-sh/drover/internal/supervisor"

	"context"
	"errors"
	"slices"
	"strconv"
)

// The process verbs: status, start, stop, restart, signal, pid, clear.
// Each follows supervisorctl 4.2.5's do_<verb>: same calls, same lines,
// same exit statuses.

// asFault returns err's fault, if it is one.
func asFault(err error) (*supervisor.Fault, bool) {
	var f *supervisor.Fault
	ok := errors.As(err, &f)
	return f, ok
}

// procOp describes start, stop or signal: the methods for "all", for a
// group ("g:*") and for one process, how results are worded, and the
// exit-status rules.
type procOp struct {
	all, group, single string // method names
	extra              []any  // arguments after the name (the signal)
	word               func(result) (string, bool)
	success            string          // line suffix for a single success
	ignored            supervisor.Code // fault code that leaves the exit status alone
	badGroupExit       int             // exit status for an unknown group
}

// runProcOp runs op on names ("all", "g:*" or process names) and reports
// each outcome.
func (c *ctl) runProcOp(ctx context.Context, op procOp, names []string) error {
	if slices.Contains(names, "all") {
		v, err := c.call(ctx, op.all, op.extra...)
		if err != nil {
			return err
		}
		rs, err := resultsFrom(v)
		if err != nil {
			return err
		}
		for _, r := range rs {
			c.report(r, op.word, op.ignored)
		}
		return nil
	}
	for _, name := range names {
		group, proc, whole := splitNamespec(name)
		if whole {
			v, err := c.call(ctx, op.group, append([]any{group}, op.extra...)...)
			if f, ok := asFault(err); ok && f.Code == supervisor.CodeBadName {
				c.println(errLine(group, "no such group"))
				c.exit = op.badGroupExit
				continue
			}
			if err != nil {
				c.exit = exitGeneric
				return err
			}
			rs, err := resultsFrom(v)
			if err != nil {
				return err
			}
			for _, r := range rs {
				c.report(r, op.word, op.ignored)
			}
			continue
		}
		_, err := c.call(ctx, op.single, append([]any{name}, op.extra...)...)
		if f, ok := asFault(err); ok {
			c.report(result{namespec(group, proc), f.Code, faultString(f)}, op.word, op.ignored)
			continue
		}
		if err != nil {
			return err
		}
		c.println(namespec(group, proc) + ": " + op.success)
	}
	return nil
}

var startOp = procOp{
	all: "startAllProcesses", group: "startProcessGroup", single: "startProcess",
	word:    func(r result) (string, bool) { return startResult(r.name, r.code) },
	success: "started", ignored: supervisor.CodeAlreadyStarted, badGroupExit: exitInvalidArgs,
}

var stopOp = procOp{
	all: "stopAllProcesses", group: "stopProcessGroup", single: "stopProcess",
	word:    func(r result) (string, bool) { return signalResult(r.name, r.code, r.desc, "stopped") },
	success: "stopped", ignored: supervisor.CodeNotRunning, badGroupExit: exitGeneric,
}

// ready is the start of the verbs that act on processes: the up-check,
// then at least n arguments, or supervisorctl's "Error: VERB requires
// WHAT", the verb's help and exit status exit. false means stop (err
// says why, or is nil when reported).
func (c *ctl) ready(ctx context.Context, verb string, args []string, n int, what string, exit int) (bool, error) {
	if ok, err := c.upcheck(ctx); !ok {
		return false, err
	}
	if len(args) < n {
		c.println("Error: " + verb + " requires " + what)
		c.exit = exit
		c.usage(verb)
		return false, nil
	}
	return true, nil
}

func ctlStart(c *ctl, ctx context.Context, args []string) error {
	if ok, err := c.ready(ctx, "start", args, 1, "a process name", exitInvalidArgs); !ok {
		return err
	}
	return c.runProcOp(ctx, startOp, args)
}

func ctlStop(c *ctl, ctx context.Context, args []string) error {
	if ok, err := c.ready(ctx, "stop", args, 1, "a process name", exitGeneric); !ok {
		return err
	}
	return c.runProcOp(ctx, stopOp, args)
}

// ctlRestart is stop then start (not atomic, as in supervisorctl).
func ctlRestart(c *ctl, ctx context.Context, args []string) error {
	if ok, err := c.ready(ctx, "restart", args, 1, "a process name", exitGeneric); !ok {
		return err
	}
	if err := c.runProcOp(ctx, stopOp, args); err != nil {
		return err
	}
	return c.runProcOp(ctx, startOp, args)
}

func ctlSignal(c *ctl, ctx context.Context, args []string) error {
	if ok, err := c.ready(ctx, "signal", args, 2, "a signal name and a process name", exitGeneric); !ok {
		return err
	}
	op := procOp{
		all: "signalAllProcesses", group: "signalProcessGroup", single: "signalProcess",
		extra:   []any{args[0]},
		word:    func(r result) (string, bool) { return signalResult(r.name, r.code, r.desc, "signalled") },
		success: "signalled", ignored: supervisor.CodeSuccess, badGroupExit: exitGeneric,
	}
	return c.runProcOp(ctx, op, args[1:])
}

// pidJSON is one element of `pid --json` for processes.
type pidJSON struct {
	Name  string `json:"name"`
	Group string `json:"group"`
	PID   int    `json:"pid"`
}

func ctlPid(c *ctl, ctx context.Context, args []string) error {
	if ok, err := c.upcheck(ctx); !ok {
		return err
	}
	switch {
	case len(args) == 0:
		v, err := c.call(ctx, "getPID")
		if err != nil {
			return err
		}
		pid, _ := v.(int)
		if c.o.json {
			return c.writeJSON(map[string]int{"pid": pid})
		}
		c.println(strconv.Itoa(pid))
	case slices.Contains(args, "all"):
		v, err := c.call(ctx, "getAllProcessInfo")
		if err != nil {
			return err
		}
		all, err := structList(v)
		if err != nil {
			return err
		}
		out := make([]pidJSON, 0, len(all))
		for _, m := range all {
			out = append(out, pidJSON{infoStr(m, "name"), infoStr(m, "group"), infoInt(m, "pid")})
			if !c.o.json {
				c.println(strconv.Itoa(infoInt(m, "pid")))
			}
		}
		if c.o.json {
			return c.writeJSON(out)
		}
	default:
		out := []pidJSON{}
		for _, name := range args {
			v, err := c.call(ctx, "getProcessInfo", name)
			if f, ok := asFault(err); ok && f.Code == supervisor.CodeBadName {
				c.exit = exitGeneric
				c.note("No such process " + name)
				continue
			}
			if err != nil {
				c.exit = exitGeneric
				return err
			}
			m, _ := v.(map[string]any)
			pid := infoInt(m, "pid")
			out = append(out, pidJSON{infoStr(m, "name"), infoStr(m, "group"), pid})
			if !c.o.json {
				c.println(strconv.Itoa(pid))
			}
			if pid == 0 {
				c.exit = exitNotRunning
			}
		}
		if c.o.json {
			return c.writeJSON(out)
		}
	}
	return nil
}

func ctlClear(c *ctl, ctx context.Context, args []string) error {
	if ok, err := c.ready(ctx, "clear", args, 1, "a process name", exitGeneric); !ok {
		return err
	}
	word := func(r result) (string, bool) { return clearResult(r.name, r.code, r.desc) }
	if slices.Contains(args, "all") {
		v, err := c.call(ctx, "clearAllProcessLogs")
		if err != nil {
			return err
		}
		rs, err := resultsFrom(v)
		if err != nil {
			return err
		}
		for _, r := range rs {
			c.report(r, word, supervisor.CodeSuccess)
		}
		return nil
	}
	for _, name := range args {
		group, proc, _ := splitNamespec(name)
		_, err := c.call(ctx, "clearProcessLogs", name)
		if f, ok := asFault(err); ok {
			c.report(result{namespec(group, proc), f.Code, faultString(f)}, word, supervisor.CodeSuccess)
			continue
		}
		if err != nil {
			return err
		}
		c.println(namespec(group, proc) + ": cleared")
	}
	return nil
}
