package daemon

import (
	"context"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/reload"
	"github.com/drover-sh/drover/internal/supervisor"
)

var _ supervisor.HealthChild = (*child)(nil)

// CheckHealth implements supervisor.HealthChild: one try of probe against
// this generation (its probe socket for http://{probe}/…).
func (c *child) CheckHealth(ctx context.Context, probe config.Ready) error {
	addr := ""
	if c.probe != nil {
		addr = c.probe.ProbeAddr()
	}
	return reload.Check(ctx, probe, addr)
}
