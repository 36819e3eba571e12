package rpc

import (
	"context"
	"errors"
	"os"

	"github.com/drover-sh/drover/internal/logfile"
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

func readMainLog(_ context.Context, d *dispatcher, a args) (any, error) {
	return readLogFile(d.b.MainLogPath(), a, 0)
}

// readLogFile applies readLog's rules to path with offset and length at
// a[first], a[first+1]. NO_FILE (detail: the path, "None" when unset) is
// checked before the arguments, as supervisord does.
func readLogFile(path string, a args, first int) (any, error) {
	if !exists(path) {
		return nil, noFile(path)
	}
	offset, err := a.int(first)
	if err != nil {
		return nil, err
	}
	length, err := a.int(first + 1)
	if err != nil {
		return nil, err
	}
	data, err := logfile.Read(path, offset, length)
	switch {
	case errors.Is(err, logfile.ErrBadArguments):
		return nil, NewFault(BadArguments, "")
	case errors.Is(err, logfile.ErrNoFile):
		return nil, noFile(path)
	case err != nil:
		return nil, NewFault(Failed, "")
	}
	return string(data), nil
}

func noFile(path string) error {
	if path == "" {
		path = "None"
	}
	return NewFault(NoFile, path)
}

func exists(path string) bool {
	if path == "" {
		return false
	}
	_, err := os.Stat(path)
	return err == nil
}

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
	list := func(s []string) []any {
		out := make([]any, len(s))
		for i, v := range s {
			out[i] = v
		}
		return out
	}
	return []any{[]any{list(diff.Added), list(diff.Changed), list(diff.Removed)}}, nil
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
