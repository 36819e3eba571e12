package reload

import (
	"context"
	"time"
)

// UptimeProbe is ready when the generation's main process is still alive
// D after Wait was called (call it right after the spawn returned). It is
// the last resort of Server::Starter and einhorn: it proves the program did
// not crash at start, not that it serves.
type UptimeProbe struct {
	D time.Duration
}

// Wait implements Probe.
func (p UptimeProbe) Wait(ctx context.Context, g Gen) error {
	t := time.NewTimer(p.D)
	defer t.Stop()
	select {
	case <-t.C:
		select {
		case <-g.Exited:
			return notReady(ctx, g, nil)
		default:
			return nil
		}
	case <-g.Exited:
		return notReady(ctx, g, nil)
	case <-ctx.Done():
		return notReady(ctx, g, nil)
	}
}
