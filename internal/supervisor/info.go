package supervisor

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// Info is a process snapshot with every field of supervisord's
// getProcessInfo struct. Times are epoch seconds (0 when never).
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
	Description   string

	// drover's own fields (not in supervisord's getProcessInfo struct).

	// Generation numbers the spawns of the daemon (0 when none is alive);
	// it stays the same when a re-exec'd master is followed.
	Generation uint64
	// Reexecs counts the re-execs followed in this generation; PrevPid is
	// the main pid before the last one (0 when none).
	Reexecs int
	PrevPid int
	// HandoffPid is the other live generation's pid during a blue/green
	// hand-off (0 otherwise). The daemon's API also reports there the new
	// master of a reexec reload while the old one still runs, which the
	// core cannot see.
	HandoffPid int
	// Reloading is the strategy of the reload under way ("" when none).
	Reloading string
}

func (c *core) info(p *proc, now time.Time) Info {
	in := Info{
		Name:          p.cfg.Name,
		Group:         p.group.name,
		Now:           now.Unix(),
		State:         p.state,
		StateName:     p.state.String(),
		SpawnErr:      p.spawnerr,
		ExitStatus:    p.exitstatus,
		StdoutLogfile: p.cfg.Stdout.Path,
		StderrLogfile: p.cfg.Stderr.Path,
	}
	if !p.laststart.IsZero() {
		in.Start = p.laststart.Unix()
	}
	if !p.laststop.IsZero() {
		in.Stop = p.laststop.Unix()
	}
	if p.cur != nil {
		in.Pid = p.cur.pid
		in.Generation = p.cur.gen
		in.Reexecs = p.cur.reexecs
		in.PrevPid = p.cur.prevPid
	}
	if p.handoff != nil {
		in.HandoffPid = p.handoff.pid
	}
	if p.reload != nil {
		in.Reloading = p.reload.strategy
	}
	in.Description = describe(in)
	return in
}

// describe builds getProcessInfo's description exactly as supervisord's
// _interpretProcessInfo.
func describe(in Info) string {
	switch in.State {
	case Running:
		return fmt.Sprintf("pid %d, uptime %s", in.Pid, uptime(in.Now-in.Start))
	case Backoff, Fatal:
		if in.SpawnErr != "" {
			return in.SpawnErr
		}
		return fmt.Sprintf("unknown error (try \"tail %s\")", in.Name)
	case Stopped, Exited:
		if in.Start == 0 {
			return "Not started"
		}
		return time.Unix(in.Stop, 0).Local().Format("Jan 02 03:04 PM")
	}
	return ""
}

// uptime formats seconds like Python's str(timedelta): "H:MM:SS", or
// "1 day, H:MM:SS" / "D days, H:MM:SS".
func uptime(secs int64) string {
	if secs < 0 {
		secs = 0
	}
	d, rem := secs/86400, secs%86400
	hms := fmt.Sprintf("%d:%02d:%02d", rem/3600, rem%3600/60, rem%60)
	switch {
	case d == 1:
		return "1 day, " + hms
	case d > 1:
		return fmt.Sprintf("%d days, %s", d, hms)
	}
	return hms
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
	return call(s, ctx, func(c *core, _ *waiter, reply chan<- res[[]Info]) {
		now := time.Now()
		names := make([]string, 0, len(c.groups))
		n := 0
		for name, g := range c.groups {
			names = append(names, name)
			n += len(g.procs)
		}
		sort.Strings(names)
		out := make([]Info, 0, n)
		for _, gname := range names {
			g := c.groups[gname]
			start := len(out)
			for _, p := range g.procs {
				out = append(out, c.info(p, now))
			}
			part := out[start:]
			sort.Slice(part, func(i, j int) bool { return part[i].Name < part[j].Name })
		}
		reply <- res[[]Info]{v: out}
	})
}
