package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"syscall"
	"time"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/reload"
	"github.com/drover-sh/drover/internal/spawn"
	"github.com/drover-sh/drover/internal/supervisor"
	"golang.org/x/sys/unix"
)

// Surviving a crash of the daemon. The state file (<pidfile>.state) says
// which process runs with which pid, and since when (/proc start time); it
// is rewritten (statefile.go) after every state change, coalesced by
// one writer goroutine. The fd keeper (keeper.go) holds the pipes and
// sockets. A daemon that starts and finds a state file whose daemon is
// dead takes over every process still alive with the same start time
// (checked again after pidfd_open, against pid reuse) with its pipes from
// the keeper; one whose pipes are lost is killed and started afresh, one
// that is gone is started by autostart as usual: never two copies.

// stateVersion is the state file's format.
const stateVersion = 1

// crashState is the state file.
type crashState struct {
	Version     int         `json:"version"`
	DaemonPid   int         `json:"daemon_pid"`
	DaemonStart uint64      `json:"daemon_start"`
	Procs       []crashProc `json:"procs"`
}

type crashProc struct {
	supervisor.ProcRecord
	// StartTicks is /proc/PID/stat field 22 of Pid.
	StartTicks uint64 `json:"start_ticks,omitempty"`
	// KeeperPid is the pid the keeper holds the pipes under (the spawned
	// one; a followed re-exec changed the main pid since).
	KeeperPid int `json:"keeper_pid,omitempty"`
}

func statePath(sd *config.Supervisord) string {
	if sd.Pidfile == "" {
		return ""
	}
	return sd.Pidfile + ".state"
}

func keeperPath(sd *config.Supervisord) string {
	if sd.Pidfile == "" {
		return ""
	}
	return sd.Pidfile + ".keeper"
}

// startTicks is pid's start time, 0 when it is gone (or a zombie).
func startTicks(pid int) uint64 {
	st, err := spawn.ReadProcStat(pid)
	if err != nil || st.State == 'Z' || st.State == 'X' {
		return 0
	}
	return st.Start
}

// stateMatters tells whether e may change what the state file records: a
// pid (a spawn, an exit, a reload's new generation or a followed re-exec,
// which change the pid without a state change) or a stopped state.
// STARTING -> RUNNING keeps the pid, and a taken-over process is RUNNING
// whatever was recorded, so the burst of those at start-up writes nothing.
func stateMatters(e supervisor.Event) bool {
	switch e.Kind {
	case supervisor.EventProcessState:
		return e.From != supervisor.Starting || e.To != supervisor.Running
	case supervisor.EventReload, supervisor.EventPidChanged, supervisor.EventGroupAdded, supervisor.EventGroupRemoved:
		return true
	}
	return false
}

// stateCanWait tells whether e, which matters, may wait stateWriteGap for
// the events that follow it: an exit (EXITED, BACKOFF), a stop under way
// or a STARTING without its pid yet. An autorestart's spawn follows an
// exit within a millisecond and publishes its pid (EventPidChanged, which
// writes at once), so one write after the new child's exec records both,
// instead of a write racing the respawn for the CPU. Meanwhile the file
// names the dead pid, which a next daemon tells apart by its start time.
func stateCanWait(e supervisor.Event) bool {
	if e.Kind != supervisor.EventProcessState {
		return false
	}
	switch e.To {
	case supervisor.Exited, supervisor.Backoff, supervisor.Stopping, supervisor.Starting:
		return true
	}
	return false
}

// kickState asks the writer for a new state file (never blocks).
func (d *daemon) kickState() {
	select {
	case d.stateKick <- struct{}{}:
	default:
	}
}

// kickStateSoon asks the writer for a new state file within
// stateWriteGap (never blocks).
func (d *daemon) kickStateSoon() {
	select {
	case d.stateSoon <- struct{}{}:
	default:
	}
}

// stateWriteGap is the least time between two writes of the state file:
// while 500 programs start, a write per state change would cost the daemon
// most of its start-up CPU; one every 20 ms costs a few.
const stateWriteGap = 20 * time.Millisecond

// stateWriter rewrites the state file after kicks until stop closes, as
// coalesce schedules them. A pid's start time is read from /proc once,
// not at every write.
func (d *daemon) stateWriter(path string, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	self := startTicks(os.Getpid())
	ticks, spare := map[int]uint64{}, map[int]uint64{}
	var enc stateEncoder
	coalesce(d.stateKick, d.stateSoon, stop, stateWriteGap, func() {
		sup := d.current()
		if sup == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		recs, err := sup.Records(ctx)
		cancel()
		if err != nil {
			return // the supervisor ended: the next one kicks again
		}
		// Every pid in recs had its pipes queued for the keeper before
		// the supervisor knew it: sent before the file names it.
		d.host.keeper.flush()
		// The map of start times is reused from write to write: a new
		// one per write was a good part of what each write allocated
		// while 500 programs start (a write every stateWriteGap).
		seen := spare
		clear(seen)
		err = writeState(path, func(w io.Writer) error {
			enc.start(w, crashState{Version: stateVersion, DaemonPid: os.Getpid(), DaemonStart: self})
			for _, r := range recs {
				cp := crashProc{ProcRecord: r}
				if r.Pid > 0 {
					t, ok := ticks[r.Pid]
					if !ok || t == 0 {
						t = startTicks(r.Pid)
					}
					cp.StartTicks, seen[r.Pid] = t, t
				}
				if c, ok := r.Child.(*child); ok {
					cp.KeeperPid = c.pid // its pid, set once: safe to read here
				}
				enc.add(&cp)
			}
			return enc.finish()
		})
		ticks, spare = seen, ticks
		if err != nil {
			d.log.Warn(fmt.Sprintf("could not write the state file: %v", err))
		}
	})
}

// coalesce calls write on kicks until stop closes, at most once per gap:
// after a kick as soon as gap has passed since the last write, after a
// soon gap later (or sooner, with a kick meanwhile). Kicks that come while
// a write waits or runs are folded into the next one.
func coalesce(kick, soon, stop <-chan struct{}, gap time.Duration, write func()) {
	t := time.NewTimer(0)
	t.Stop()
	defer t.Stop()
	var last, due time.Time // due is zero while no write is pending
	arm := func(at time.Time) {
		if !due.IsZero() && !at.Before(due) {
			return
		}
		due = at
		t.Reset(time.Until(at))
	}
	for {
		select {
		case <-kick:
			arm(last.Add(gap))
		case <-soon:
			arm(time.Now().Add(gap))
		case <-t.C:
			due, last = time.Time{}, time.Now()
			write()
		case <-stop:
			return
		}
	}
}

// liveOwner is the pid of another live drover that wrote the state file
// at path, 0 when there is none (or it is this process: an upgrade).
func liveOwner(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	var st crashState
	if json.Unmarshal(b, &st) != nil || st.DaemonPid == os.Getpid() || st.DaemonStart == 0 {
		return 0
	}
	if startTicks(st.DaemonPid) == st.DaemonStart {
		return st.DaemonPid
	}
	return 0
}

// setupSurvival connects to the keeper (starting one when none runs),
// takes over what a crashed predecessor left (unless an upgrade handed
// this image its state), and starts the state writer. Called by setup
// after the control servers bound (so no live daemon runs on this
// config) and before the first supervisor exists.
func (d *daemon) setupSurvival(sd *config.Supervisord) {
	path, kpath := statePath(sd), keeperPath(sd)
	if path == "" {
		return
	}
	if pid := liveOwner(path); pid != 0 {
		// No control server told us (none configured): another drover
		// runs on this pidfile; its keeper and state are its own.
		d.log.Warn(fmt.Sprintf("the state file %s belongs to a live drover (pid %d): this one will not survive a crash", path, pid))
		return
	}
	k, err := dialKeeper(kpath, d.log)
	if err != nil {
		if k, err = startKeeper(kpath, d.log); err != nil {
			d.log.Warn(fmt.Sprintf("could not start the fd keeper: %v: programs will not survive a crash of drover", err))
		}
	}
	d.host.keeper = k
	if d.handed == nil {
		if d.handed = d.recoverCrash(path, k); d.handed != nil {
			d.host.handed = newHandedSet(d.handed)
		}
	}
	d.stateKick, d.stateSoon = make(chan struct{}, 1), make(chan struct{}, 1)
	stop, done := make(chan struct{}), make(chan struct{})
	go d.stateWriter(path, stop, done)
	d.undo = append(d.undo, func() {
		close(stop)
		<-done
		// A clean exit: nothing to survive. (An upgrade's execve never
		// gets here; a crash neither.)
		os.Remove(path)
		os.Remove(path + ".next")
		d.host.keeper.exit()
	})
}

// recoverCrash reads the state file a dead daemon left and builds what
// the first supervisor takes over; nil when there is none.
func (d *daemon) recoverCrash(path string, k *keeperConn) *handoverState {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	var st crashState
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err == nil && st.Version != stateVersion {
		err = fmt.Errorf("version %d, this binary reads %d", st.Version, stateVersion)
	}
	if err != nil {
		d.log.Warn(fmt.Sprintf("ignoring the state file %s: %v", path, err))
		return nil
	}
	var kept map[string]keptItem
	if k != nil {
		if kept, err = k.getAll(); err != nil {
			d.log.Warn(fmt.Sprintf("the fd keeper did not hand the pipes back: %v", err))
		}
	}
	out := &handoverState{Version: handoverVersion, FromVersion: fmt.Sprintf("a crashed drover (pid %d)", st.DaemonPid)}
	used := map[string]bool{}
	taken, restarted := 0, 0
	for _, cp := range st.Procs {
		hp := handedProc{ProcRecord: cp.ProcRecord, Stdin: -1, Stdout: -1, Stderr: -1}
		key := "sock:" + hp.Group + ":" + hp.Name
		if it, ok := kept[key]; ok {
			hp.Sockets = handedSockets(it)
			used[key] = true
		}
		if cp.Pid > 0 {
			if !d.watchSurvivor(cp) {
				continue // gone: autostart decides, as for a program never started
			}
			hp.State = supervisor.Running
			hp.KeeperPid = cp.KeeperPid
			if hp.KeeperPid == 0 {
				hp.KeeperPid = cp.Pid
			}
			pkey := keeperKey(hp.KeeperPid)
			if it, ok := kept[pkey]; ok {
				used[pkey] = true
				for i, l := range it.labels {
					switch l {
					case "0":
						hp.Stdin = it.fds[i]
					case "1":
						hp.Stdout = it.fds[i]
					case "2":
						hp.Stderr = it.fds[i]
					}
				}
				taken++
			} else {
				restarted++
			}
		}
		out.Procs = append(out.Procs, hp)
	}
	for key, it := range kept {
		if !used[key] {
			if what := killOrphan(key, it); what != "" {
				d.log.Warn(what)
			}
			closeFDs(it.fds...)
			k.drop(key)
		}
	}
	d.log.Info(fmt.Sprintf("drover (pid %d) had crashed: taking over %d processes with their pipes, restarting %d whose pipes were lost",
		st.DaemonPid, taken, restarted))
	return out
}

// watchSurvivor checks that cp's pid still runs the process recorded
// (same start time), watches its exit by pidfd and checks again (the pid
// could have been reused in between); false when it is not that process.
func (d *daemon) watchSurvivor(cp crashProc) bool {
	if cp.StartTicks == 0 || startTicks(cp.Pid) != cp.StartTicks {
		return false
	}
	pid := cp.Pid
	stop, err := d.host.WatchExit(pid, func(ws syscall.WaitStatus) {
		<-d.supReady
		if sup := d.current(); sup != nil {
			sup.Exited(pid, ws)
		}
	})
	if err != nil {
		return false
	}
	if startTicks(pid) != cp.StartTicks {
		stop()
		return false
	}
	return true
}

// handedSockets describes a program's sockets the keeper gave back.
func handedSockets(it keptItem) []reload.Handed {
	var out []reload.Handed
	for i, spec := range it.labels {
		h := reload.Handed{SpecText: spec, FD: it.fds[i]}
		if sa, err := unix.Getsockname(it.fds[i]); err == nil {
			switch a := sa.(type) {
			case *unix.SockaddrInet4:
				h.Addr = netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)).String()
			case *unix.SockaddrInet6:
				h.Addr = netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port)).String()
			case *unix.SockaddrUnix:
				h.Addr = a.Name
				var st unix.Stat_t
				if unix.Lstat(a.Name, &st) == nil {
					h.Dev, h.Ino = st.Dev, st.Ino
				}
			}
		}
		out = append(out, h)
	}
	return out
}
