package supervisor

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

// Info is a process snapshot with the fields of supervisord's
// getProcessInfo struct. Times are epoch seconds (0 when never). The
// description is derived from them by the RPC layer (rpc.Description),
// where the text it quotes can be escaped for XML.
type Info struct {
	Name          string
	Group         string
	Start         int64 // last start (spawn request)
	Stop          int64 // last exit
	Now           int64
	State         State
	StateName     string
	SpawnErr      string
	ExitStatus    int
	StdoutLogfile string // '' when NONE; also the old "logfile" key
	StderrLogfile string
	Pid           int // 0 when not running

	// drover's own fields (not in supervisord's getProcessInfo struct).

	// Generation numbers the spawns of the daemon (0 when none is alive);
	// it stays the same when a re-exec'd master is followed.
	Generation uint64
	// Reexecs counts the re-execs followed in this generation; PrevPid is
	// the main pid before the last one (0 when none).
	Reexecs int
	PrevPid int
	// HandoffPid is the other live generation's pid during a blue/green
	// hand-off, or the new master of a reexec reload while the old one
	// still runs (0 otherwise). The daemon's API also fills it from the
	// server's pidfile when the core did not find the new master.
	HandoffPid int
	// Reloading is the strategy of the reload under way ("" when none).
	Reloading config.ReloadStrategy
	// Pending says why the process still runs its previous config after an
	// update (its new generation failed); "" when it runs the last applied.
	Pending string
	// Waiting says which depends_on holds the process's start ("" when none).
	Waiting string
	// Strategy is the configured reload strategy (restart when none), so
	// a client can say whether a reload was a restart.
	Strategy config.ReloadStrategy
}

// info is the snapshot of p at now.
func (c *core) info(p *proc, now time.Time) Info {
	var in Info
	fillInfo(&in, p, now)
	return in
}

// fillInfo sets every field of in, one by one: in is usually in the heap,
// where copying a whole Info literal costs a bulk write barrier while the
// GC runs.
func fillInfo(in *Info, p *proc, now time.Time) {
	in.Name = p.cfg.Name
	in.Group = p.group.name
	in.Start, in.Stop = epoch(p.laststart), epoch(p.laststop)
	in.Now = now.Unix()
	in.State = p.state
	in.StateName = p.state.String()
	in.SpawnErr = p.spawnerr
	in.ExitStatus = p.exitstatus
	in.StdoutLogfile = p.logs.Stdout
	in.StderrLogfile = p.logs.Stderr
	in.Pid, in.Generation, in.Reexecs, in.PrevPid = 0, 0, 0, 0
	if p.cur != nil {
		in.Pid, in.Generation, in.Reexecs, in.PrevPid = p.cur.pid, p.cur.gen, p.cur.reexecs, p.cur.prevPid
	}
	in.HandoffPid = 0
	if p.handoff != nil {
		in.HandoffPid = p.handoff.pid
	}
	in.Pending = p.pending
	in.Waiting = p.waiting
	if p.reload != nil && p.reload.successor != 0 {
		in.HandoffPid = p.reload.successor
	}
	in.Reloading = ""
	if p.reload != nil {
		in.Reloading = p.reload.strategy
	}
	in.Strategy = p.cfg.Drover.Reload
	if in.Strategy == "" {
		in.Strategy = config.ReloadRestart
	}
}

// epoch is t in seconds, 0 for the zero time (never).
func epoch(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// appendInfos appends the snapshot of ps at now to dst.
func appendInfos(dst []Info, ps []*proc, now time.Time) []Info {
	base := len(dst)
	dst = slices.Grow(dst, len(ps))[:base+len(ps)]
	for i, p := range ps {
		fillInfo(&dst[base+i], p, now)
	}
	return dst
}

// ProcessInfo is getProcessInfo: BAD_NAME for unknown names and group
// forms. It works in every daemon state (the RPC layer applies
// SHUTDOWN_STATE itself from State).
func (s *Supervisor) ProcessInfo(ctx context.Context, name string) (Info, error) {
	return call(s, ctx, func(c *core, _ *waiter, reply chan<- res[Info]) {
		p, err := c.lookup(name)
		if err != nil {
			reply <- res[Info]{err: err}
			return
		}
		reply <- res[Info]{v: c.info(p, time.Now())}
	})
}

// AllProcessInfo is getAllProcessInfo: every process sorted by group name,
// then process name.
func (s *Supervisor) AllProcessInfo(ctx context.Context) ([]Info, error) {
	return s.AppendProcessInfo(ctx, nil)
}

// AppendProcessInfo is AllProcessInfo appended to dst, so that a caller
// that asks often can reuse one slice (a 500-process snapshot is 116 kB).
// The owner goroutine writes into dst: after an error (ctx ended), it may
// still do so, so dst must not be reused then.
func (s *Supervisor) AppendProcessInfo(ctx context.Context, dst []Info) ([]Info, error) {
	return call(s, ctx, func(c *core, _ *waiter, reply chan<- res[[]Info]) {
		// c.order is by (priority, name): with the usual equal priorities it
		// is already in name order, and checking that is cheaper than sorting.
		gs := slices.Clone(c.order)
		if !slices.IsSortedFunc(gs, groupByName) {
			slices.SortFunc(gs, groupByName)
		}
		n := 0
		for _, g := range gs {
			n += len(g.procs)
		}
		ps := make([]*proc, 0, n)
		for _, g := range gs {
			start := len(ps)
			ps = append(ps, g.procs...)
			if part := ps[start:]; !slices.IsSortedFunc(part, procByName) {
				slices.SortFunc(part, procByName)
			}
		}
		reply <- res[[]Info]{v: appendInfos(dst, ps, time.Now())}
	})
}

func groupByName(a, b *group) int { return strings.Compare(a.name, b.name) }
func procByName(a, b *proc) int   { return strings.Compare(a.cfg.Name, b.cfg.Name) }
