package rpc

import (
	"github.com/drover-sh/drover/internal/supervisor"

	"context"
	"sort"

	"github.com/drover-sh/drover/internal/rpc/xmlrpc"
)

func results(rs []supervisor.Result, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	out := make([]xmlrpc.Struct, len(rs))
	for i, r := range rs {
		out[i] = xmlrpc.Struct{
			{Name: "name", Value: r.Name}, {Name: "group", Value: r.Group},
			{Name: "status", Value: int(r.Status)}, {Name: "description", Value: r.Description},
		}
	}
	return out, nil
}

// delegated keeps the name as the caller wrote it ("g:*") in a BAD_NAME
// from the group method, as supervisord reports it.
func delegated(name string) func(v any, err error) (any, error) {
	return func(v any, err error) (any, error) {
		if rs, ok := v.([]supervisor.Result); ok && err == nil {
			return results(rs, nil)
		}
		if err != nil && ToFault(err).Code == supervisor.CodeBadName {
			return nil, supervisor.NewFault(supervisor.CodeBadName, name)
		}
		return v, err
	}
}

// nameAndWait reads the (name, wait=true) parameters.
func nameAndWait(a args) (string, bool, error) {
	name, err := a.str(0)
	if err != nil {
		return "", false, err
	}
	wait, err := a.boolOr(1, true)
	return name, wait, err
}

func startProcess(ctx context.Context, d *dispatcher, a args) (any, error) {
	name, wait, err := nameAndWait(a)
	if err != nil {
		return nil, err
	}
	if g, p := splitNamespec(name); p == "" {
		return delegated(name)(d.b.StartProcessGroup(ctx, g, wait))
	}
	return true, d.b.StartProcess(ctx, name, wait)
}

func startProcessGroup(ctx context.Context, d *dispatcher, a args) (any, error) {
	name, wait, err := nameAndWait(a)
	if err != nil {
		return nil, err
	}
	return results(d.b.StartProcessGroup(ctx, name, wait))
}

func startAllProcesses(ctx context.Context, d *dispatcher, a args) (any, error) {
	wait, err := a.boolOr(0, true)
	if err != nil {
		return nil, err
	}
	return results(d.b.StartAllProcesses(ctx, wait))
}

func stopProcess(ctx context.Context, d *dispatcher, a args) (any, error) {
	name, wait, err := nameAndWait(a)
	if err != nil {
		return nil, err
	}
	if g, p := splitNamespec(name); p == "" {
		return delegated(name)(d.b.StopProcessGroup(ctx, g, wait))
	}
	return true, d.b.StopProcess(ctx, name, wait)
}

func stopProcessGroup(ctx context.Context, d *dispatcher, a args) (any, error) {
	name, wait, err := nameAndWait(a)
	if err != nil {
		return nil, err
	}
	return results(d.b.StopProcessGroup(ctx, name, wait))
}

func stopAllProcesses(ctx context.Context, d *dispatcher, a args) (any, error) {
	wait, err := a.boolOr(0, true)
	if err != nil {
		return nil, err
	}
	return results(d.b.StopAllProcesses(ctx, wait))
}

func signalProcess(ctx context.Context, d *dispatcher, a args) (any, error) {
	name, err := a.str(0)
	if err != nil {
		return nil, err
	}
	if g, p := splitNamespec(name); p == "" {
		v, err := signalGroup(ctx, d, g, a[1])
		return delegated(name)(v, err)
	}
	sig, ok := parseSignal(a[1])
	if !ok {
		// BAD_NAME wins over BAD_SIGNAL, as in supervisord.
		if _, err := d.b.ProcessInfo(ctx, name); err != nil {
			return nil, err
		}
		return nil, supervisor.NewFault(supervisor.CodeBadSignal, pyStr(a[1]))
	}
	return true, d.b.SignalProcess(ctx, name, sig)
}

func signalProcessGroup(ctx context.Context, d *dispatcher, a args) (any, error) {
	name, err := a.str(0)
	if err != nil {
		return nil, err
	}
	return signalGroup(ctx, d, name, a[1])
}

func signalAllProcesses(ctx context.Context, d *dispatcher, a args) (any, error) {
	sig, ok := parseSignal(a[0])
	if !ok {
		return badSignalResults(ctx, d, nil, a[0])
	}
	return results(d.b.SignalAllProcesses(ctx, sig))
}

func signalGroup(ctx context.Context, d *dispatcher, group string, sigArg any) (any, error) {
	sig, ok := parseSignal(sigArg)
	if !ok {
		return badSignalResults(ctx, d, &group, sigArg)
	}
	return results(d.b.SignalProcessGroup(ctx, group, sig))
}

// badSignalResults answers a group or "all" signal call with an invalid
// signal the way supervisord does: a BAD_SIGNAL result for each
// signallable process (BAD_NAME for an unknown group).
func badSignalResults(ctx context.Context, d *dispatcher, group *string, sigArg any) (any, error) {
	all, err := d.b.AllProcessInfo(ctx)
	if err != nil {
		return nil, err
	}
	all = visibleInfos(ctx, all)
	sortInfos(all)
	found := group == nil
	var rs []supervisor.Result
	for _, pi := range all {
		if group != nil && pi.Group != *group {
			continue
		}
		found = true
		if pi.State.IsSignallable() {
			rs = append(rs, ResultOf(pi.Name, pi.Group, supervisor.NewFault(supervisor.CodeBadSignal, pyStr(sigArg))))
		}
	}
	if !found {
		return nil, supervisor.NewFault(supervisor.CodeBadName, *group)
	}
	return results(rs, nil)
}

// processName reads a name parameter that must denote one process:
// "group:*" is BAD_NAME here.
func processName(a args) (string, error) {
	name, err := a.str(0)
	if err != nil {
		return "", err
	}
	if _, p := splitNamespec(name); p == "" {
		return "", supervisor.NewFault(supervisor.CodeBadName, name)
	}
	return name, nil
}

func getProcessInfo(ctx context.Context, d *dispatcher, a args) (any, error) {
	name, err := processName(a)
	if err != nil {
		return nil, err
	}
	pi, err := d.b.ProcessInfo(ctx, name)
	if err != nil {
		return nil, err
	}
	return d.infoStruct(pi), nil
}

func sortInfos(all []ProcessInfo) {
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].Group != all[j].Group {
			return all[i].Group < all[j].Group
		}
		return all[i].Name < all[j].Name
	})
}

func getAllProcessInfo(ctx context.Context, d *dispatcher, _ args) (any, error) {
	all, err := d.b.AllProcessInfo(ctx)
	if err != nil {
		return nil, err
	}
	all = visibleInfos(ctx, all)
	sortInfos(all)
	return infoList{all: all, now: d.opts.Now()}, nil
}

func clearProcessLogs(ctx context.Context, d *dispatcher, a args) (any, error) {
	name, err := processName(a)
	if err != nil {
		return nil, err
	}
	return true, d.b.ClearProcessLogs(ctx, name)
}

func clearAllProcessLogs(ctx context.Context, d *dispatcher, _ args) (any, error) {
	return results(d.b.ClearAllProcessLogs(ctx))
}

func sendProcessStdin(ctx context.Context, d *dispatcher, a args) (any, error) {
	var data []byte
	switch v := a[1].(type) {
	case string:
		data = []byte(v)
	case []byte:
		data = v
	default:
		return nil, badParam(a[1])
	}
	name, err := processName(a)
	if err != nil {
		return nil, err
	}
	return true, d.b.SendProcessStdin(ctx, name, data)
}
