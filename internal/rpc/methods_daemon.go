package rpc

import (
	"context"

	"github.com/drover-sh/drover/internal/rpc/xmlrpc"
)

// APIVersion is what getAPIVersion returns; supervisorctl refuses any
// other value.
const APIVersion = "3.0"

func getAPIVersion(context.Context, *dispatcher, args) (any, error) { return APIVersion, nil }

func getSupervisorVersion(_ context.Context, d *dispatcher, _ args) (any, error) {
	return d.opts.SupervisorVersion, nil
}

func getIdentification(_ context.Context, d *dispatcher, _ args) (any, error) {
	return d.b.Identification(), nil
}

func getState(_ context.Context, d *dispatcher, _ args) (any, error) {
	st := d.b.State()
	return xmlrpc.Struct{{Name: "statecode", Value: int(st)}, {Name: "statename", Value: st.String()}}, nil
}

func getPID(_ context.Context, d *dispatcher, _ args) (any, error) { return d.b.PID(), nil }

func clearLog(ctx context.Context, d *dispatcher, _ args) (any, error) {
	return true, d.b.ClearMainLog(ctx)
}

func shutdown(ctx context.Context, d *dispatcher, _ args) (any, error) {
	return true, d.b.Shutdown(ctx)
}

func restart(ctx context.Context, d *dispatcher, _ args) (any, error) {
	return true, d.b.Restart(ctx)
}

func reloadConfig(ctx context.Context, d *dispatcher, _ args) (any, error) {
	diff, err := d.b.ReloadConfig(ctx)
	if err != nil {
		return nil, err
	}
	return []any{[]any{anyList(diff.Added), anyList(diff.Changed), anyList(diff.Removed)}}, nil
}

// anyList is s as an XML-RPC array.
func anyList(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func addProcessGroup(ctx context.Context, d *dispatcher, a args) (any, error) {
	name, err := a.str(0)
	if err != nil {
		return nil, err
	}
	return true, d.b.AddProcessGroup(ctx, name)
}

func removeProcessGroup(ctx context.Context, d *dispatcher, a args) (any, error) {
	name, err := a.str(0)
	if err != nil {
		return nil, err
	}
	return true, d.b.RemoveProcessGroup(ctx, name)
}

func sendRemoteCommEvent(ctx context.Context, d *dispatcher, a args) (any, error) {
	typ, err := a.str(0)
	if err != nil {
		return nil, err
	}
	data, err := a.str(1)
	if err != nil {
		return nil, err
	}
	return true, d.b.SendRemoteCommEvent(ctx, typ, data)
}
