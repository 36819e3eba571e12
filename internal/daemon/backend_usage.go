package daemon

import (
	"context"
	"os"
	"time"

	"github.com/drover-sh/drover/internal/rpc"
	"github.com/drover-sh/drover/internal/spawn"
	"github.com/drover-sh/drover/internal/supervisor"
)

// The API's on-demand usage and counters (GET /metrics,
// drover.getAllProcessUsage): read when a client asks, never sampled on
// a timer.
var _ rpc.UsageBackend = backend{}

func (b backend) ProcessStats(ctx context.Context) ([]supervisor.Stats, error) {
	return b.sup().Stats(ctx)
}

func (b backend) SampleUsage(st []supervisor.Stats) []supervisor.Usage {
	return b.sup().SampleUsage(st)
}

func (b backend) LogCounters(path string) (written, dropped int64, ok bool) {
	return b.d.host.files.Counters(path)
}

func (b backend) DaemonRSS() int64 {
	st, err := spawn.ReadProcStat(os.Getpid())
	if err != nil {
		return 0
	}
	return st.RSS * int64(os.Getpagesize())
}

func (b backend) Started() time.Time { return b.d.started }
