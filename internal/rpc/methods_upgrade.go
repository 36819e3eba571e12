package rpc

import (
	"context"
	"crypto/rand"
	"strings"
	"sync"

	"github.com/drover-sh/drover/internal/supervisor"
)

// Upgrader is what a Backend implements to offer drover.upgrade: replace
// the daemon's image in place (execve, same pid) by the binary at path
// ("" for the current one), keeping every child, its pipes and the
// sockets. It returns once the new binary passed its preflight and the
// handover began; the next call is answered by the new image (or by this
// one, when the execve failed: drover.getVersion tells).
type Upgrader interface {
	Upgrade(ctx context.Context, path string) (UpgradeResult, error)
}

// UpgradeResult is drover.upgrade's answer.
type UpgradeResult struct {
	Path string // the binary that takes over
	From string // this image's version
	To   string // the new binary's, as its preflight said
	Pid  int
}

func droverUpgrade(ctx context.Context, d *dispatcher, a args) (any, error) {
	path := ""
	if len(a) > 0 {
		var err error
		if path, err = a.str(0); err != nil {
			return nil, err
		}
	}
	u, ok := d.b.(Upgrader)
	if !ok {
		return nil, supervisor.NewFault(supervisor.CodeFailed, "upgrade is not supported by this daemon")
	}
	r, err := u.Upgrade(ctx, path)
	if err != nil {
		return nil, err
	}
	return map[string]any{"path": r.Path, "from": r.From, "to": r.To, "pid": r.Pid, "image": imageID()}, nil
}

// imageID names this process image. An upgrade's execve starts another,
// so a client tells by it whether an upgrade happened, also between two
// builds of the same version (drover.getImage).
var imageID = sync.OnceValue(rand.Text)

func droverImage(context.Context, *dispatcher, args) (any, error) { return imageID(), nil }

func droverVersion(_ context.Context, d *dispatcher, _ args) (any, error) {
	return strings.TrimPrefix(d.opts.ServerHeader, "drover/"), nil
}
