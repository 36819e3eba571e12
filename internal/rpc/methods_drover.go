package rpc

import (
	"context"

	"github.com/drover-sh/drover/internal/rpc/xmlrpc"
)

// drover's own methods live in the drover.* namespace so supervisor.* stays
// exactly supervisord's. Faults use supervisord's codes.
func droverMethods() map[string]*method {
	return map[string]*method{
		"drover.reloadProcess": {params: p(kString), names: n("name"), required: 1, ret: kBool, call: reloadProcess,
			help: "Reload a process by its reload strategy (restart, signal, reexec); group:* rolls the group one process at a time"},
		"drover.reloadProcessGroup": {params: p(kString, kInt), names: n("name", "batch"), required: 1, ret: kArray, call: reloadProcessGroup,
			help: "Reload the running processes of the group named name, batch (default 1) at a time, stopping after the first failure"},
		"drover.reloadAllProcesses": {params: p(kInt), names: n("batch"), ret: kArray, call: reloadAllProcesses,
			help: "Reload every running process, batch (default 1) at a time, stopping after the first failure"},
		"drover.update": {params: p(kArray), names: n("names"), ret: "struct", call: droverUpdate,
			help: "Reread the config and apply it to the groups named (all when none): added groups start, removed ones stop, changed ones are handed off to the new config without downtime where they can be, else stopped and started"},
		"drover.rotateLogs": {params: p(kString), names: n("name"), required: 1, ret: kArray, call: rotateLogs,
			help: "Rotate the stdout and stderr logs of the process or group (group:*) name now, as *_logfile_maxbytes would (file.1, file.2 …)"},
		"drover.rotateAllLogs": {ret: kArray, call: rotateAllLogs,
			help: "Rotate the stdout and stderr logs of every process now"},
		"drover.scale": {params: p(kString, kInt), names: n("name", "count"), required: 2, ret: kArray, call: droverScale,
			help: "Run count processes of the numprocs program name now: new ones start (through their readiness gate), extra ones stop one at a time, highest process_num first; the next update restores the config file's numprocs"},
		"drover.getProcessInfo": {params: p(kString), names: n("name"), required: 1, ret: "struct", readOnly: true,
			call: droverProcessInfo,
			help: "Return getProcessInfo's struct plus generation, reexecs, prev_pid, handoff_pid, reloading and strategy (the configured reload strategy)"},
		"drover.getAllProcessInfo": {ret: kArray, readOnly: true, call: droverAllProcessInfo,
			help: "Return drover.getProcessInfo's struct for every process"},
		"drover.getAllProcessStatus": {ret: kArray, readOnly: true, call: droverAllProcessStatus,
			help: "Return [group, name, state, statename, description, generation, handoff_pid] for every process (what `drover status` prints)"},
		"drover.upgrade": {params: p(kString), names: n("path"), ret: "struct", call: droverUpgrade,
			help: "Replace the daemon in place (same pid) by the drover binary at path (default: the current binary's file) without restarting any process; it returns {path, from, to, pid, image} once the new binary passed its preflight, and the next call is answered by the new image"},
		"drover.getVersion": {ret: kString, readOnly: true, call: droverVersion,
			help: "Return drover's own version (getSupervisorVersion answers the supervisord API version)"},
		"drover.getImage": {ret: kString, readOnly: true, call: droverImage,
			help: "Return a random name of this daemon's process image: drover.upgrade's answer has the old image's (image), and a new one answers after the upgrade happened"},
		"drover.getAllProcessUsage": {ret: kArray, readOnly: true, call: usageRows,
			help: "Return [group, name, pid, processes, rss_kb, cpu_seconds, cpu_percent] for every process: its process tree sampled now; cpu_percent is since the previous sample within a minute, else -1"},
	}
}

func reloadProcess(ctx context.Context, d *dispatcher, a args) (any, error) {
	name, err := a.str(0)
	if err != nil {
		return nil, err
	}
	if g, p := splitNamespec(name); p == "" {
		return delegated(name)(d.b.ReloadProcessGroup(ctx, g, 1))
	}
	return true, d.b.ReloadProcess(ctx, name)
}

func reloadProcessGroup(ctx context.Context, d *dispatcher, a args) (any, error) {
	name, err := a.str(0)
	if err != nil {
		return nil, err
	}
	batch, err := batchArg(a, 1)
	if err != nil {
		return nil, err
	}
	return results(d.b.ReloadProcessGroup(ctx, name, batch))
}

func reloadAllProcesses(ctx context.Context, d *dispatcher, a args) (any, error) {
	batch, err := batchArg(a, 0)
	if err != nil {
		return nil, err
	}
	return results(d.b.ReloadAllProcesses(ctx, batch))
}

// batchArg reads the optional batch size at i: 1 when absent; below 1 is
// INCORRECT_PARAMETERS.
func batchArg(a args, i int) (int, error) {
	if i >= len(a) {
		return 1, nil
	}
	n, err := a.int(i)
	if err != nil {
		return 0, err
	}
	if n < 1 || n > 1<<16 {
		return 0, badParam(a[i])
	}
	return int(n), nil
}

// droverUpdate answers {added, changed, removed, handed_off: [group...],
// failed: [{name, group, status, description}]}.
func droverUpdate(ctx context.Context, d *dispatcher, a args) (any, error) {
	var names []string
	if len(a) > 0 {
		list, ok := a[0].([]any)
		if !ok {
			return nil, badParam(a[0])
		}
		for i := range list {
			name, err := args(list).str(i)
			if err != nil {
				return nil, err
			}
			names = append(names, name)
		}
	}
	u, err := d.b.Update(ctx, names)
	if err != nil {
		return nil, err
	}
	failed, _ := results(u.Failed, nil)
	return xmlrpc.Struct{
		{Name: "added", Value: anyList(u.Added)}, {Name: "changed", Value: anyList(u.Changed)},
		{Name: "removed", Value: anyList(u.Removed)}, {Name: "handed_off", Value: anyList(u.HandedOff)},
		{Name: "scaled", Value: anyList(u.Scaled)},
		{Name: "failed", Value: failed},
	}, nil
}

func rotateLogs(ctx context.Context, d *dispatcher, a args) (any, error) {
	name, err := a.str(0)
	if err != nil {
		return nil, err
	}
	return results(d.b.RotateLogs(ctx, name))
}

func rotateAllLogs(ctx context.Context, d *dispatcher, _ args) (any, error) {
	return results(d.b.RotateAllLogs(ctx))
}

func droverScale(ctx context.Context, d *dispatcher, a args) (any, error) {
	name, err := a.str(0)
	if err != nil {
		return nil, err
	}
	count, err := a.int(1)
	if err != nil {
		return nil, err
	}
	return results(d.b.Scale(ctx, name, int(min(max(count, -1), 1<<30))))
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
