package rpc

import (
	"github.com/drover-sh/drover/internal/supervisor"

	"context"
	"errors"
	"os"

	"github.com/drover-sh/drover/internal/logfile"
)

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
		return nil, supervisor.NewFault(supervisor.CodeBadArguments, "")
	case errors.Is(err, logfile.ErrNoFile):
		return nil, noFile(path)
	case err != nil:
		return nil, supervisor.NewFault(supervisor.CodeFailed, "")
	}
	return string(data), nil
}

func noFile(path string) error {
	if path == "" {
		path = "None"
	}
	return supervisor.NewFault(supervisor.CodeNoFile, path)
}

func exists(path string) bool {
	if path == "" {
		return false
	}
	_, err := os.Stat(path)
	return err == nil
}

func readStdout(ctx context.Context, d *dispatcher, a args) (any, error) {
	return readProcessLog(ctx, d, a, false)
}

func readStderr(ctx context.Context, d *dispatcher, a args) (any, error) {
	return readProcessLog(ctx, d, a, true)
}

func logPath(pi ProcessInfo, stderr bool) string {
	if stderr {
		return pi.StderrLogfile
	}
	return pi.StdoutLogfile
}

func readProcessLog(ctx context.Context, d *dispatcher, a args, stderr bool) (any, error) {
	name, err := processName(a)
	if err != nil {
		return nil, err
	}
	pi, err := d.b.ProcessInfo(ctx, name)
	if err != nil {
		return nil, err
	}
	return readLogFile(logPath(pi, stderr), a, 1)
}

func tailStdout(ctx context.Context, d *dispatcher, a args) (any, error) {
	return tailProcessLog(ctx, d, a, false)
}

func tailStderr(ctx context.Context, d *dispatcher, a args) (any, error) {
	return tailProcessLog(ctx, d, a, true)
}

// tailProcessLog answers [data, newoffset, overflow]; a missing file is
// [”, 0, false], a read error [”, offset, false], as in supervisord.
func tailProcessLog(ctx context.Context, d *dispatcher, a args, stderr bool) (any, error) {
	name, err := processName(a)
	if err != nil {
		return nil, err
	}
	offset, err := a.int(1)
	if err != nil {
		return nil, err
	}
	length, err := a.int(2)
	if err != nil {
		return nil, err
	}
	pi, err := d.b.ProcessInfo(ctx, name)
	if err != nil {
		return nil, err
	}
	path := logPath(pi, stderr)
	if !exists(path) {
		return []any{"", 0, false}, nil
	}
	data, off, overflow, err := logfile.Tail(path, offset, length)
	if errors.Is(err, logfile.ErrNoFile) {
		return []any{"", 0, false}, nil
	}
	if err != nil {
		return []any{"", offset, false}, nil
	}
	return []any{string(data), off, overflow}, nil
}
