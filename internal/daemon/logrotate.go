package daemon

import (
	"context"
	"errors"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/rpc"
	"github.com/drover-sh/drover/internal/supervisor"
)

// RotateLogs is drover.rotateLogs: the logs of the process or group (g:*)
// name, rotated now.
func (b backend) RotateLogs(ctx context.Context, name string) ([]supervisor.Result, error) {
	group, _, isGroup := supervisor.ParseName(name)
	var ins []supervisor.Info
	if isGroup {
		all, err := b.sup().AllProcessInfo(ctx)
		if err != nil {
			return nil, err
		}
		for _, in := range all {
			if in.Group == group {
				ins = append(ins, in)
			}
		}
		if len(ins) == 0 {
			return nil, supervisor.NewFault(supervisor.CodeBadName, name)
		}
	} else {
		in, err := b.sup().ProcessInfo(ctx, name)
		if err != nil {
			return nil, err
		}
		ins = []supervisor.Info{in}
	}
	return b.rotate(ctx, ins)
}

// RotateAllLogs is drover.rotateAllLogs: every process's logs.
func (b backend) RotateAllLogs(ctx context.Context) ([]supervisor.Result, error) {
	ins, err := b.sup().AllProcessInfo(ctx)
	if err != nil {
		return nil, err
	}
	return b.rotate(ctx, ins)
}

// rotate rotates both logs of each process, keeping its *_logfile_backups.
func (b backend) rotate(ctx context.Context, ins []supervisor.Info) ([]supervisor.Result, error) {
	groups, err := b.sup().Groups(ctx)
	if err != nil {
		return nil, err
	}
	cfgs := map[[2]string]*config.Process{}
	for _, g := range groups {
		for _, p := range g.Processes {
			cfgs[[2]string{g.Name, p.Name}] = p
		}
	}
	out := make([]supervisor.Result, 0, len(ins))
	for _, in := range ins {
		var outB, errB int
		if p := cfgs[[2]string{in.Group, in.Name}]; p != nil {
			outB, errB = p.Stdout.Backups, p.Stderr.Backups
		}
		err := errors.Join(b.d.host.files.Rotate(in.StdoutLogfile, outB), b.d.host.files.Rotate(in.StderrLogfile, errB))
		out = append(out, rpc.ResultOf(in.Name, in.Group, err))
	}
	return out, nil
}
