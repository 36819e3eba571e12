package cli

import (
	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/supervisor"

	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The configuration and daemon verbs: avail, reread, update, add,
// remove, shutdown, reload, version. As in supervisorctl, only version
// runs the up-check first.

// noArgs prints supervisorctl's complaint when a verb without arguments
// got some.
func (c *ctl) noArgs(verb string, args []string) bool {
	if len(args) == 0 {
		return true
	}
	c.println("Error: " + verb + " accepts no arguments")
	c.exit = exitGeneric
	c.usage(verb)
	return false
}

func ctlAvail(c *ctl, ctx context.Context, args []string) error {
	if !c.noArgs("avail", args) {
		return nil
	}
	v, err := c.call(ctx, "getAllConfigInfo")
	if f, ok := asFault(err); ok && f.Code == supervisor.CodeShutdownState {
		c.exit = exitGeneric
		c.note("ERROR: supervisor shutting down")
		return nil
	}
	if err != nil {
		return err
	}
	list, err := structList(v)
	if err != nil {
		return err
	}
	if c.o.json {
		return c.writeJSON(list)
	}
	for _, m := range list {
		c.println(availLine(m))
	}
	return nil
}

// reloadConfig calls reloadConfig and returns its added, changed and
// removed group names.
func (c *ctl) reloadConfig(ctx context.Context) (added, changed, removed []string, err error) {
	v, err := c.call(ctx, "reloadConfig")
	if err != nil {
		return nil, nil, nil, err
	}
	outer, _ := v.([]any)
	if len(outer) != 1 {
		return nil, nil, nil, fmt.Errorf("unexpected reloadConfig answer %v", v)
	}
	inner, _ := outer[0].([]any)
	if len(inner) != 3 {
		return nil, nil, nil, fmt.Errorf("unexpected reloadConfig answer %v", v)
	}
	return stringList(inner[0]), stringList(inner[1]), stringList(inner[2]), nil
}

func ctlReread(c *ctl, ctx context.Context, args []string) error {
	if !c.noArgs("reread", args) {
		return nil
	}
	added, changed, removed, err := c.reloadConfig(ctx)
	if f, ok := asFault(err); ok && (f.Code == supervisor.CodeShutdownState || f.Code == supervisor.CodeCantReread) {
		c.exit = exitGeneric
		if f.Code == supervisor.CodeShutdownState {
			c.println("ERROR: supervisor shutting down")
		} else {
			c.println("ERROR: " + faultString(f))
		}
		return nil
	}
	if err != nil {
		return err
	}
	c.writeChanges(added, changed, removed)
	return nil
}

// ctlUpdate is supervisorctl's update: reloadConfig, then for each
// removed group stop and remove (not if a stop FAILED), for each changed
// group stop, remove and add, for each added group add. Group names
// limit it to those groups; "all" is the same as none.
func ctlUpdate(c *ctl, ctx context.Context, args []string) error {
	// The top-level `drover update` asks drover to apply the config
	// itself, so that changed groups are handed off without downtime.
	if c.prog == "drover update" {
		if done, err := c.droverUpdate(ctx, args); done || err != nil {
			return err
		}
	}
	added, changed, removed, err := c.reloadConfig(ctx)
	if f, ok := asFault(err); ok && f.Code == supervisor.CodeShutdownState {
		c.exit = exitGeneric
		c.println("ERROR: already shutting down")
		return nil
	}
	if err != nil {
		return err
	}
	only := map[string]bool{}
	for _, a := range args {
		only[a] = true
	}
	if only["all"] {
		only = map[string]bool{}
	}
	if len(only) > 0 {
		v, err := c.call(ctx, "getAllProcessInfo")
		if err != nil {
			return err
		}
		infos, err := structList(v)
		if err != nil {
			return err
		}
		known := map[string]bool{}
		for _, m := range infos {
			known[infoStr(m, "group")] = true
		}
		for _, g := range added {
			known[g] = true
		}
		printed := map[string]bool{}
		for _, a := range args { // supervisorctl walks a set; keep the user's order
			if !known[a] && !printed[a] {
				printed[a] = true
				c.println("ERROR: no such group: " + a)
				c.exit = exitGeneric
			}
		}
	}
	skip := func(g string) bool { return len(only) > 0 && !only[g] }
	log := func(g, msg string) { c.println(g + ": " + msg) }
	for _, g := range removed {
		if skip(g) {
			continue
		}
		v, err := c.call(ctx, "stopProcessGroup", g)
		if err != nil {
			return err
		}
		log(g, "stopped")
		rs, err := resultsFrom(v)
		if err != nil {
			return err
		}
		failed := false
		for _, r := range rs {
			failed = failed || r.code == supervisor.CodeFailed
		}
		if failed {
			log(g, "has problems; not removing")
			c.exit = exitGeneric
			continue
		}
		if _, err := c.call(ctx, "removeProcessGroup", g); err != nil {
			return err
		}
		log(g, "removed process group")
	}
	for _, g := range changed {
		if skip(g) {
			continue
		}
		if _, err := c.call(ctx, "stopProcessGroup", g); err != nil {
			return err
		}
		log(g, "stopped")
		if _, err := c.call(ctx, "removeProcessGroup", g); err != nil {
			return err
		}
		if _, err := c.call(ctx, "addProcessGroup", g); err != nil {
			return err
		}
		log(g, "updated process group")
	}
	for _, g := range added {
		if skip(g) {
			continue
		}
		if _, err := c.call(ctx, "addProcessGroup", g); err != nil {
			return err
		}
		log(g, "added process group")
	}
	return nil
}

func ctlAdd(c *ctl, ctx context.Context, args []string) error {
	for _, name := range args {
		_, err := c.call(ctx, "addProcessGroup", name)
		if f, ok := asFault(err); ok {
			switch f.Code {
			case supervisor.CodeShutdownState:
				c.println("ERROR: shutting down")
				c.exit = exitGeneric
			case supervisor.CodeAlreadyAdded:
				c.println("ERROR: process group already active")
			case supervisor.CodeBadName:
				c.println("ERROR: no such process/group: " + name)
				c.exit = exitGeneric
			default:
				c.exit = exitGeneric
				return err
			}
			continue
		}
		if err != nil {
			c.exit = exitGeneric
			return err
		}
		c.println(name + ": added process group")
	}
	return nil
}

func ctlRemove(c *ctl, ctx context.Context, args []string) error {
	for _, name := range args {
		_, err := c.call(ctx, "removeProcessGroup", name)
		if f, ok := asFault(err); ok {
			c.exit = exitGeneric
			switch f.Code {
			case supervisor.CodeStillRunning:
				c.println("ERROR: process/group still running: " + name)
			case supervisor.CodeBadName:
				c.println("ERROR: no such process/group: " + name)
			default:
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		c.println(name + ": removed process group")
	}
	return nil
}

// ctlShutdown asks for confirmation only in the interactive shell (and
// with -i), as supervisorctl does; a one-shot command never asks.
func ctlShutdown(c *ctl, ctx context.Context, args []string) error {
	if len(args) > 0 {
		c.println("Error: shutdown accepts no arguments")
		c.exit = exitGeneric
		c.usage("shutdown")
		return nil
	}
	if c.o.interactive && !c.confirm(ctx, "Really shut the remote supervisord process down y/N? ") {
		return nil
	}
	_, err := c.call(ctx, "shutdown")
	if f, ok := asFault(err); ok && f.Code == supervisor.CodeShutdownState {
		c.println("ERROR: already shutting down")
		return nil
	}
	if err != nil {
		switch noFile, refused := connProblem(err); {
		case refused:
			c.exit = exitGeneric
			c.println("ERROR: " + c.o.serverURL + " refused connection (already shut down?)")
			return nil
		case noFile:
			c.exit = exitGeneric
			c.println("ERROR: " + c.o.serverURL + " no such file (already shut down?)")
			return nil
		}
		c.exit = exitGeneric
		return err
	}
	c.println("Shut down")
	return nil
}

// ctlReload restarts the daemon; confirmation as for shutdown. As
// `drover reload NAME...` (not in the supervisorctl forms, where reload
// takes no argument) it reloads programs by their reload strategy instead:
// see reloadPrograms.
func ctlReload(c *ctl, ctx context.Context, args []string) error {
	// Only the top-level `drover reload` (not `drover ctl` or the
	// supervisorctl symlink) takes names.
	if len(args) > 0 && c.prog == "drover reload" {
		return c.reloadPrograms(ctx, args)
	}
	if len(args) > 0 {
		c.println("Error: reload accepts no arguments")
		c.exit = exitGeneric
		c.usage("reload")
		return nil
	}
	if c.o.interactive && !c.confirm(ctx, "Really restart the remote supervisord process y/N? ") {
		return nil
	}
	_, err := c.call(ctx, "restart")
	if f, ok := asFault(err); ok && f.Code == supervisor.CodeShutdownState {
		c.exit = exitGeneric
		c.println("ERROR: already shutting down")
		return nil
	}
	if err != nil {
		return err
	}
	c.println("Restarted supervisord")
	return nil
}

func ctlVersion(c *ctl, ctx context.Context, args []string) error {
	if !c.noArgs("version", args) {
		return nil
	}
	if ok, err := c.upcheck(ctx); !ok {
		return err
	}
	v, err := c.call(ctx, "getSupervisorVersion")
	if err != nil {
		return err
	}
	c.println(fmt.Sprint(v))
	return nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// reloadPrograms is `drover reload [--batch N] [--progress] NAME|group:*|all
// ...`: each target is reloaded by its reload strategy (blue/green, signal,
// re-exec or restart) and the command returns when the reload finished; a
// group or all rolls, N processes at a time (default 1), and stops after
// the first failure. Output is one line per process, "web: reloaded" or
// "web: ERROR (reason)"; the exit status is 0 when every reload succeeded,
// 7 when a program is not running, else 1. On a terminal (or with
// --progress) stderr shows the roll as it happens.
func (c *ctl) reloadPrograms(ctx context.Context, args []string) error {
	opts, args, err := parseReloadOpts(args)
	if err != nil {
		c.println("Error: " + err.Error())
		c.exit = exitGeneric
		return nil
	}
	if ok, err := c.upcheck(ctx); !ok {
		return err
	}
	tty := isTerminal(c.errw) || opts.progress
	strategies := c.reloadStrategies(ctx)
	for _, name := range args {
		var rs []result
		group, isGroup := strings.CutSuffix(name, ":*")
		t0 := time.Now()
		if tty {
			// Progress for a person: a hand-off takes seconds (the new
			// generation boots, the old one drains). Scripts see only the
			// result lines on stdout.
			fmt.Fprintf(c.errw, "%s: reloading...\n", name)
		}
		var v any
		var err error
		stop := func([]string) {}
		if tty && (name == "all" || isGroup) {
			stop = c.followReloads(ctx, group)
		}
		switch {
		case name == "all" && opts.batch > 1:
			v, err = c.call(ctx, "drover.reloadAllProcesses", opts.batch)
		case name == "all":
			v, err = c.call(ctx, "drover.reloadAllProcesses")
		case isGroup && opts.batch > 1:
			v, err = c.call(ctx, "drover.reloadProcessGroup", group, opts.batch)
		case isGroup:
			v, err = c.call(ctx, "drover.reloadProcessGroup", group)
		default:
			_, err = c.call(ctx, "drover.reloadProcess", name)
			rs = []result{{name: name, code: supervisor.CodeSuccess}}
		}
		if f, ok := asFault(err); ok {
			rs = []result{{name: name, code: f.Code, desc: faultString(f)}}
		} else if err != nil {
			return err
		} else if rs == nil {
			if rs, err = resultsFrom(v); err != nil {
				return err
			}
		}
		var last []string // the processes whose reload logs a last line
		for _, r := range rs {
			if !strings.Contains(r.desc, "not reloaded:") {
				last = append(last, r.name[strings.IndexByte(r.name, ':')+1:])
			}
		}
		stop(last)
		if tty {
			fmt.Fprintf(c.errw, "%s: took %v\n", name, time.Since(t0).Round(time.Millisecond))
		}
		for _, r := range rs {
			switch {
			case r.code == supervisor.CodeSuccess && strategies[r.name] == config.ReloadRestart:
				c.println(r.name + ": " + restartedNote)
			case r.code == supervisor.CodeSuccess:
				c.println(r.name + ": reloaded")
			default:
				c.println(errLine(r.name, r.desc))
			}
			c.setExitFromFault(r.code, supervisor.CodeSuccess)
		}
	}
	return nil
}

// restartedNote is the result of a reload that could only restart.
const restartedNote = "restarted (not zero-downtime: add sockets= or reload=)"

// reloadStrategies maps every process's namespec (and group:name) to its
// configured reload strategy, so a restart is not reported as a
// zero-downtime reload; empty if the daemon does not say (then every
// success prints "reloaded").
func (c *ctl) reloadStrategies(ctx context.Context) map[string]config.ReloadStrategy {
	v, err := c.call(ctx, "drover.getAllProcessInfo")
	if err != nil {
		return nil
	}
	list, err := structList(v)
	if err != nil {
		return nil
	}
	m := make(map[string]config.ReloadStrategy, len(list))
	for _, in := range list {
		g, n, s := infoStr(in, "group"), infoStr(in, "name"), config.ReloadStrategy(infoStr(in, "strategy"))
		m[namespec(g, n)], m[g+":"+n] = s, s
	}
	return m
}
