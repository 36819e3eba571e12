package rpc

import (
	"context"
)

// drover's own methods live in the drover.* namespace so supervisor.* stays
// exactly supervisord's. Faults use supervisord's codes.
func droverMethods() map[string]*method {
	return map[string]*method{
		"drover.reloadProcess": {params: p(kString), names: n("name"), required: 1, ret: kBool, call: reloadProcess,
			help: "Reload a process by its reload strategy (restart, signal, reexec); group:* rolls the group one process at a time"},
		"drover.reloadProcessGroup": {params: p(kString), names: n("name"), required: 1, ret: kArray, call: reloadProcessGroup,
			help: "Reload the running processes of the group named name, one at a time, stopping at the first failure"},
		"drover.reloadAllProcesses": {ret: kArray, call: reloadAllProcesses,
			help: "Reload every running process, one at a time, stopping at the first failure"},
		"drover.getProcessInfo": {params: p(kString), names: n("name"), required: 1, ret: "struct", readOnly: true,
			call: droverProcessInfo,
			help: "Return getProcessInfo's struct plus generation, reexecs, prev_pid, handoff_pid, reloading and strategy (the configured reload strategy)"},
		"drover.getAllProcessInfo": {ret: kArray, readOnly: true, call: droverAllProcessInfo,
			help: "Return drover.getProcessInfo's struct for every process"},
		"drover.getAllProcessStatus": {ret: kArray, readOnly: true, call: droverAllProcessStatus,
			help: "Return [group, name, state, statename, description, generation, handoff_pid] for every process (what `drover status` prints)"},
	}
}

func reloadProcess(ctx context.Context, d *dispatcher, a args) (any, error) {
	name, err := a.str(0)
	if err != nil {
		return nil, err
	}
	if g, p := splitNamespec(name); p == "" {
		return delegated(name)(d.b.ReloadProcessGroup(ctx, g))
	}
	return true, d.b.ReloadProcess(ctx, name)
}

func reloadProcessGroup(ctx context.Context, d *dispatcher, a args) (any, error) {
	name, err := a.str(0)
	if err != nil {
		return nil, err
	}
	return results(d.b.ReloadProcessGroup(ctx, name))
}

func reloadAllProcesses(ctx context.Context, d *dispatcher, _ args) (any, error) {
	return results(d.b.ReloadAllProcesses(ctx))
}

func droverProcessInfo(ctx context.Context, d *dispatcher, a args) (any, error) {
	name, err := processName(a)
	if err != nil {
		return nil, err
	}
	pi, err := d.b.ProcessInfo(ctx, name)
	if err != nil {
		return nil, err
	}
	return d.droverInfoStruct(pi), nil
}

func droverAllProcessInfo(ctx context.Context, d *dispatcher, _ args) (any, error) {
	all, err := d.b.AllProcessInfo(ctx)
	if err != nil {
		return nil, err
	}
	all = visibleInfos(ctx, all)
	sortInfos(all)
	return infoList{all: all, now: d.opts.Now(), drover: true}, nil
}

// droverAllProcessStatus is what `drover status` needs of every process,
// in getAllProcessInfo's order, as arrays: a quarter of the bytes of
// getAllProcessInfo's structs, which on a large fleet is most of the
// command's time (encoding, the socket, the client's decoding).
func droverAllProcessStatus(ctx context.Context, d *dispatcher, _ args) (any, error) {
	all, err := d.b.AllProcessInfo(ctx)
	if err != nil {
		return nil, err
	}
	all = visibleInfos(ctx, all)
	sortInfos(all)
	return statusList{all: all, now: d.opts.Now()}, nil
}
