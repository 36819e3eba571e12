package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// Target names. drover-before is a second drover binary (-drover-before),
// run exactly like drover, so one run can show a before/after table.
const (
	targetBefore      = "drover-before"
	targetDrover      = "drover"
	targetSupervisord = "supervisord"
)

// targetOrder is the order of the table's columns, whatever the order of
// -targets: the old drover, the new one, then supervisord.
var targetOrder = []string{targetBefore, targetDrover, targetSupervisord}

// targetNames parses -targets: known names, no repeats, in table order.
// A -drover-before binary adds its target when -targets does not name it;
// naming it without one is an error.
func targetNames(list, before string) ([]string, error) {
	var names []string
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if !slices.Contains(targetOrder, n) {
			return nil, fmt.Errorf("unknown target %q (have %s)", n, strings.Join(targetOrder, ", "))
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	switch {
	case before == "" && slices.Contains(names, targetBefore):
		return nil, fmt.Errorf("target %s needs -drover-before PATH", targetBefore)
	case before != "" && !slices.Contains(names, targetBefore):
		names = append(names, targetBefore)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no targets in %q", list)
	}
	slices.SortFunc(names, func(a, b string) int {
		return slices.Index(targetOrder, a) - slices.Index(targetOrder, b)
	})
	return names, nil
}

// makeTargets builds the targets -targets and -drover-before ask for.
func (h *harness) makeTargets(ctx context.Context) ([]*target, error) {
	names, err := targetNames(h.opt.Targets, h.opt.DroverBefore)
	if err != nil {
		return nil, err
	}
	var out []*target
	for _, n := range names {
		switch n {
		case targetBefore:
			out = append(out, droverTarget(ctx, targetBefore, h.opt.DroverBefore))
		case targetDrover:
			out = append(out, droverTarget(ctx, targetDrover, h.opt.Drover))
		case targetSupervisord:
			out = append(out, h.supervisordTarget())
		}
	}
	return out, nil
}

func (h *harness) supervisordTarget() *target {
	t := &target{Name: targetSupervisord,
		Argv: func(conf string) []string { return []string{h.opt.Supervisord, "-n", "-c", conf} },
		Ctl:  func(conf string) []string { return []string{h.opt.Supervisorctl, "-c", conf, "status"} },
		// What supervisord's users do to deploy: stop, then start.
		Reload: func(conf, name string) []string {
			return []string{h.opt.Supervisorctl, "-c", conf, "restart", name}
		},
	}
	if _, err := os.Stat(h.opt.Supervisord); err != nil {
		t.Skip = "no " + h.opt.Supervisord
	}
	return t
}

// droverTarget is a drover binary at path, named name in the table.
func droverTarget(ctx context.Context, name, path string) *target {
	t := &target{Name: name,
		Argv: func(conf string) []string { return []string{path, "run", "-n", "-c", conf} },
		// Blue/green on a socket drover owns, ready when the new
		// generation answers on its private probe socket.
		Reload: func(conf, prog string) []string { return []string{path, "reload", prog, "-c", conf} },
		ReloadOptions: func(addr string) []string {
			return []string{"sockets=tcp://" + addr, "reload=bluegreen", "ready=http://{probe}/"}
		},
	}
	if _, err := os.Stat(path); err != nil {
		t.Skip = "no " + path
		return t
	}
	// `drover status` is drover's own client; use it once the verb exists.
	if exec.CommandContext(ctx, path, "status", "--help").Run() == nil {
		t.Ctl = func(conf string) []string { return []string{path, "status", "-c", conf} }
	}
	return t
}
