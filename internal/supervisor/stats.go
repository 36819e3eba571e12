package supervisor

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procStats are the counters of one process that /metrics reports. The
// core bumps them as things happen (a few integer writes: nothing is
// computed unless someone asks, through Stats).
type procStats struct {
	starts uint64
	// exits counts the exits of every generation by how they ended:
	// "0".."255" for an exit status, a signal name ("SIGKILL") for a death
	// by signal. Allocated on the first exit.
	exits map[string]uint64
	// reloads and reloadFails count finished reload requests; the last
	// one took lastReload and failed when lastReloadErr.
	reloads, reloadFails uint64
	lastReload           time.Duration
	lastReloadErr        bool
	// readyWait is the last successful readiness wait (readied: there was one).
	readyWait time.Duration
	readied   bool
}

func (st *procStats) exited(ws syscall.WaitStatus) {
	if st.exits == nil {
		st.exits = make(map[string]uint64, 2)
	}
	st.exits[exitKey(ws)]++
}

// exitKey is the label of one exit: the status, or the signal's name.
func exitKey(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return signame(ws.Signal())
	}
	es, _ := decodeStatus(ws)
	return strconv.Itoa(es) // no allocation below 100
}

// noteReload records a finished reload request, before endReload: one
// that was refused never became p.reload and is not counted.
func (c *core) noteReload(rec *reloadRec, took time.Duration, err error) {
	p := rec.p
	if p == nil || p.reload != rec {
		return
	}
	p.stats.reloads++
	p.stats.lastReload, p.stats.lastReloadErr = took, err != nil
	if err != nil {
		p.stats.reloadFails++
	}
}

// Stats is one process's counters and the pids of its process trees.
type Stats struct {
	Name, Group string
	State       State
	// Start is the last start (zero if never); Pid is 0 when not running.
	Start time.Time
	Pid   int
	// HandoffPid is the other live generation during a hand-off (0: none).
	HandoffPid int
	Starts     uint64
	// Exits by exit status ("0".."255") or signal name ("SIGTERM").
	Exits map[string]uint64
	// Reloads and ReloadFailures count finished reload requests; the last
	// took LastReload and failed when LastReloadFailed.
	Reloads, ReloadFailures uint64
	LastReload              time.Duration
	LastReloadFailed        bool
	// ReadyWait is the last successful readiness wait; HasReadyWait says
	// there was one (the program has a readiness probe).
	ReadyWait    time.Duration
	HasReadyWait bool
	// Logs are the process's log files ("" for none).
	Logs Logs
}

// Stats returns every process's counters, sorted by group then name. The
// owner only copies them; the caller formats.
func (s *Supervisor) Stats(ctx context.Context) ([]Stats, error) {
	return call(s, ctx, func(c *core, _ *waiter, reply chan<- res[[]Stats]) {
		var out []Stats
		for _, g := range c.order {
			for _, p := range g.procs {
				st := Stats{
					Name: p.cfg.Name, Group: g.name, State: p.state, Start: p.laststart,
					Starts: p.stats.starts, Reloads: p.stats.reloads, ReloadFailures: p.stats.reloadFails,
					LastReload: p.stats.lastReload, LastReloadFailed: p.stats.lastReloadErr,
					ReadyWait: p.stats.readyWait, HasReadyWait: p.stats.readied, Logs: p.logs,
				}
				if len(p.stats.exits) > 0 {
					st.Exits = make(map[string]uint64, len(p.stats.exits))
					for k, v := range p.stats.exits {
						st.Exits[k] = v
					}
				}
				if p.cur != nil && !p.cur.gone {
					st.Pid = p.cur.pid
				}
				if p.handoff != nil && !p.handoff.gone {
					st.HandoffPid = p.handoff.pid
				}
				out = append(out, st)
			}
		}
		slices.SortFunc(out, func(a, b Stats) int {
			return cmp.Or(strings.Compare(a.Group, b.Group), strings.Compare(a.Name, b.Name))
		})
		reply <- res[[]Stats]{v: out}
	})
}
