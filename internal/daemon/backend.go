package daemon

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/events"
	"github.com/drover-sh/drover/internal/rpc"
	"github.com/drover-sh/drover/internal/supervisor"
)

// backend is the API's view of the daemon: it forwards to the current
// Supervisor and keeps the last-read config for reread/avail/add.
type backend struct{ d *daemon }

var _ rpc.Backend = backend{}

func (b backend) sup() *supervisor.Supervisor { return b.d.current() }

func (b backend) Identification() string { return b.d.running().Supervisord.Identifier }
func (b backend) PID() int               { return os.Getpid() }
func (b backend) MainLogPath() string    { return b.d.mainLogPath() }

func (b backend) State() supervisor.SupervisorState {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := b.sup().State(ctx)
	if err != nil {
		return supervisor.StateShutdown
	}
	return st
}

func (b backend) ClearMainLog(context.Context) error {
	if b.d.mainLog == nil {
		return supervisor.NewFault(supervisor.CodeNoFile, "")
	}
	return b.d.mainLog.Clear()
}

func (b backend) Shutdown(context.Context) error { b.d.tell(reqShutdown); return nil }
func (b backend) Restart(context.Context) error  { b.d.tell(reqRestart); return nil }

func (b backend) ReloadConfig(ctx context.Context) (supervisor.UpdateResult, error) {
	res, err := b.d.ask(ctx, reqReread)
	if err != nil {
		return supervisor.UpdateResult{}, err
	}
	if res.err != nil {
		return supervisor.UpdateResult{}, supervisor.NewFault(supervisor.CodeCantReread, res.err.Error())
	}
	return b.sup().Diff(ctx, res.cfg)
}

// Update is drover.update: reread, then apply like HUP, to names only when
// given.
func (b backend) Update(ctx context.Context, names []string) (supervisor.UpdateResult, error) {
	defer b.d.sd.reloading()()
	res, err := b.d.ask(ctx, reqReread)
	if err != nil {
		return supervisor.UpdateResult{}, err
	}
	if res.err != nil {
		return supervisor.UpdateResult{}, supervisor.NewFault(supervisor.CodeCantReread, res.err.Error())
	}
	return b.sup().Update(ctx, res.cfg, names)
}

func (b backend) AddProcessGroup(ctx context.Context, name string) error {
	g := b.d.lastGroup(name)
	if g == nil {
		return supervisor.NewFault(supervisor.CodeBadName, name)
	}
	return b.sup().AddGroup(ctx, g)
}

func (b backend) RemoveProcessGroup(ctx context.Context, name string) error {
	err := b.sup().RemoveGroup(ctx, name)
	if errors.Is(err, supervisor.ErrStillRunning) {
		return supervisor.NewFault(supervisor.CodeStillRunning, name) // supervisord names the group
	}
	return err
}

func (b backend) StartProcess(ctx context.Context, name string, wait bool) error {
	return b.sup().StartProcess(ctx, name, wait)
}

func (b backend) StartProcessGroup(ctx context.Context, group string, wait bool) ([]supervisor.Result, error) {
	return b.sup().StartGroup(ctx, group, wait)
}

func (b backend) StartAllProcesses(ctx context.Context, wait bool) ([]supervisor.Result, error) {
	return b.sup().StartAll(ctx, wait)
}

func (b backend) StopProcess(ctx context.Context, name string, wait bool) error {
	return b.sup().StopProcess(ctx, name, wait)
}

func (b backend) StopProcessGroup(ctx context.Context, group string, wait bool) ([]supervisor.Result, error) {
	return b.sup().StopGroup(ctx, group, wait)
}

func (b backend) StopAllProcesses(ctx context.Context, wait bool) ([]supervisor.Result, error) {
	return b.sup().StopAll(ctx, wait)
}

func (b backend) SignalProcess(ctx context.Context, name string, sig syscall.Signal) error {
	return b.sup().SignalProcess(ctx, name, sig)
}

func (b backend) SignalProcessGroup(ctx context.Context, group string, sig syscall.Signal) ([]supervisor.Result, error) {
	return b.sup().SignalGroup(ctx, group, sig)
}

func (b backend) SignalAllProcesses(ctx context.Context, sig syscall.Signal) ([]supervisor.Result, error) {
	return b.sup().SignalAll(ctx, sig)
}

func (b backend) ProcessInfo(ctx context.Context, name string) (rpc.ProcessInfo, error) {
	in, err := b.sup().ProcessInfo(ctx, name)
	if err != nil {
		return rpc.ProcessInfo{}, err
	}
	out := []rpc.ProcessInfo{processInfo(in)}
	b.addHandoff(ctx, out)
	return out[0], nil
}

// addHandoff fills HandoffPID of processes in a reexec reload: the new
// master, found through the server's pidfile while the old one still runs.
// Only then is the config looked up and /proc read.
func (b backend) addHandoff(ctx context.Context, pis []rpc.ProcessInfo) {
	var groups []*config.Group
	for i := range pis {
		pi := &pis[i]
		if pi.Reloading != string(config.ReloadReexec) || pi.HandoffPID != 0 || pi.PID == 0 {
			continue
		}
		if groups == nil {
			var err error
			if groups, err = b.sup().Groups(ctx); err != nil {
				return
			}
		}
		for _, g := range groups {
			if g.Name != pi.Group {
				continue
			}
			for _, pc := range g.Processes {
				if pc.Name == pi.Name {
					pi.HandoffPID = pendingSuccessor(pi.PID, pc.Drover.Pidfile)
				}
			}
		}
	}
}

// snapshots holds *[]supervisor.Info for AllProcessInfo to reuse: a
// 500-program status would otherwise allocate (and soon collect) 116 kB
// per call only to convert it.
var snapshots sync.Pool

func (b backend) AllProcessInfo(ctx context.Context) ([]rpc.ProcessInfo, error) {
	sp, _ := snapshots.Get().(*[]supervisor.Info)
	if sp == nil {
		sp = new([]supervisor.Info)
	}
	ins, err := b.sup().AppendProcessInfo(ctx, (*sp)[:0])
	if err != nil {
		return nil, err // the supervisor may still write into *sp: not reused
	}
	out := make([]rpc.ProcessInfo, len(ins))
	for i := range ins {
		setProcessInfo(&out[i], &ins[i])
	}
	clear(ins) // keep no strings alive in the pool
	*sp = ins[:0]
	snapshots.Put(sp)
	b.addHandoff(ctx, out)
	return out, nil
}

// AllConfigInfo lists the last-read config. As in supervisord 4.2.5, an
// AUTO log is "auto" in a config read since its group was added (a
// reread makes new config objects, whose names are made only when added)
// and the created file's path in the config object the running group was
// added from.
func (b backend) AllConfigInfo(ctx context.Context) ([]rpc.ConfigInfo, error) {
	active, err := b.sup().Groups(ctx)
	if err != nil {
		return nil, err
	}
	activeCfg := map[string]*config.Group{}
	for _, g := range active {
		activeCfg[g.Name] = g
	}
	var logs map[string]supervisor.Logs // by group:name, fetched only when needed
	var out []rpc.ConfigInfo
	for _, g := range b.d.lastRead().Groups {
		running := activeCfg[g.Name] == g
		if running && logs == nil {
			ins, err := b.sup().AllProcessInfo(ctx)
			if err != nil {
				return nil, err
			}
			logs = make(map[string]supervisor.Logs, len(ins))
			for _, in := range ins {
				logs[in.Group+":"+in.Name] = supervisor.Logs{Stdout: in.StdoutLogfile, Stderr: in.StderrLogfile}
			}
		}
		for _, p := range g.Processes {
			var l supervisor.Logs
			if running {
				l = logs[g.Name+":"+p.Name]
			}
			out = append(out, configInfo(g, p, activeCfg[g.Name] != nil, l))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (b backend) ClearProcessLogs(ctx context.Context, name string) error {
	in, err := b.sup().ProcessInfo(ctx, name)
	if err != nil {
		return err
	}
	return errors.Join(b.d.host.files.Clear(in.StdoutLogfile), b.d.host.files.Clear(in.StderrLogfile))
}

func (b backend) ClearAllProcessLogs(ctx context.Context) ([]supervisor.Result, error) {
	ins, err := b.sup().AllProcessInfo(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]supervisor.Result, 0, len(ins))
	for _, in := range ins {
		err := errors.Join(b.d.host.files.Clear(in.StdoutLogfile), b.d.host.files.Clear(in.StderrLogfile))
		out = append(out, rpc.ResultOf(in.Name, in.Group, err))
	}
	return out, nil
}

func (b backend) SendProcessStdin(ctx context.Context, name string, data []byte) error {
	w, err := b.sup().Stdin(ctx, name)
	if err != nil {
		return err
	}
	switch n, err := w.Write(data); {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return supervisor.NewFault(supervisor.CodeFailed, fmt.Sprintf("%s: wrote %d of %d bytes in %v: its stdin is full (the program does not read it)", name, n, len(data), stdinTimeout))
	case errors.Is(err, errStdinBusy):
		return supervisor.NewFault(supervisor.CodeFailed, name+": "+err.Error())
	default:
		return supervisor.NewFault(supervisor.CodeNoFile, name)
	}
}

// ReloadProcess is drover.reloadProcess (see supervisor.ReloadProcess).
func (b backend) ReloadProcess(ctx context.Context, name string) error {
	return b.sup().ReloadProcess(ctx, name)
}

func (b backend) ReloadProcessGroup(ctx context.Context, group string, batch int) ([]supervisor.Result, error) {
	return b.sup().ReloadGroup(ctx, group, batch)
}

func (b backend) ReloadAllProcesses(ctx context.Context, batch int) ([]supervisor.Result, error) {
	return b.sup().ReloadAll(ctx, batch)
}

// SendRemoteCommEvent emits REMOTE_COMMUNICATION to the listener pools.
func (b backend) SendRemoteCommEvent(_ context.Context, typ, data string) error {
	if ev := b.d.now.Load().ev; ev != nil {
		ev.Publish(events.Remote(typ, data))
	}
	return nil
}

func processInfo(in supervisor.Info) rpc.ProcessInfo {
	var pi rpc.ProcessInfo
	setProcessInfo(&pi, &in)
	return pi
}

// setProcessInfo fills a zero pi from in field by field: pi is usually in
// a 500-element heap slice, where copying whole structs costs a bulk write
// barrier while the GC runs.
func setProcessInfo(pi *rpc.ProcessInfo, in *supervisor.Info) {
	pi.Name, pi.Group = in.Name, in.Group
	if in.Start != 0 {
		pi.Start = time.Unix(in.Start, 0)
	}
	if in.Stop != 0 {
		pi.Stop = time.Unix(in.Stop, 0)
	}
	pi.State = in.State
	pi.SpawnErr, pi.ExitStatus = in.SpawnErr, in.ExitStatus
	pi.StdoutLogfile, pi.StderrLogfile = in.StdoutLogfile, in.StderrLogfile
	pi.PID = in.Pid
	pi.Generation, pi.Reexecs, pi.PrevPID = in.Generation, in.Reexecs, in.PrevPid
	pi.HandoffPID, pi.Reloading, pi.Pending, pi.Strategy = in.HandoffPid, string(in.Reloading), in.Pending, string(in.Strategy)
	pi.Waiting = in.Waiting
}

// configInfo is p's getAllConfigInfo struct; created holds the AUTO log
// files made for p's running group ("" for none).
func configInfo(g *config.Group, p *config.Process, inUse bool, created supervisor.Logs) rpc.ConfigInfo {
	logc := func(t config.LogTarget, made string) rpc.LogConfig {
		path := t.Path
		if t.Auto {
			path = cmp.Or(made, "auto")
		}
		return rpc.LogConfig{
			CaptureMaxBytes: t.CaptureMaxBytes, EventsEnabled: t.EventsEnabled,
			Logfile: path, LogfileBackups: t.Backups, LogfileMaxBytes: t.MaxBytes, Syslog: t.Syslog,
		}
	}
	serverURL := p.ServerURL
	if serverURL == "AUTO" {
		serverURL = "" // supervisord reports AUTO as none
	}
	return rpc.ConfigInfo{
		Name: p.Name, Group: g.Name, GroupPrio: g.Priority, ProcessPrio: p.Priority,
		InUse: inUse, Autostart: p.Autostart, Command: p.Command, Directory: p.Directory,
		UID: p.UID, ExitCodes: p.ExitCodes, KillAsGroup: p.KillAsGroup,
		RedirectStderr: p.RedirectStderr, ServerURL: serverURL,
		StartRetries: p.StartRetries, StartSecs: int(p.StartSecs / time.Second),
		StopSignal: int(p.StopSignal), StopWaitSecs: int(p.StopWait / time.Second),
		Stdout: logc(p.Stdout, created.Stdout), Stderr: logc(p.Stderr, created.Stderr),
	}
}
