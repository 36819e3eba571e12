package rpc

import (
	"github.com/drover-sh/drover/internal/supervisor"

	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeBackend is an in-memory Backend with supervisord's rules for the
// cases the API tests need. Processes: cat (group cat, RUNNING), g:a
// (STOPPED, never started), g:b (RUNNING).
type fakeBackend struct {
	mu      sync.Mutex
	state   supervisor.SupervisorState
	procs   map[string]*ProcessInfo // by "group:name"
	mainLog string
	calls   []string
	batch   int // the last reload batch size asked
	signals []syscall.Signal
	stdin   []byte
	// block, if set, makes StartProcess with wait block until ctx ends.
	block bool
}

var fakeStart = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newFake(t *testing.T) *fakeBackend {
	dir := t.TempDir()
	f := &fakeBackend{state: supervisor.StateRunning, procs: map[string]*ProcessInfo{}, mainLog: filepath.Join(dir, "main.log")}
	add := func(group, name string, st supervisor.State, pid int) {
		out := filepath.Join(dir, name+"-stdout.log")
		errp := filepath.Join(dir, name+"-stderr.log")
		pi := &ProcessInfo{Name: name, Group: group, State: st, PID: pid, StdoutLogfile: out, StderrLogfile: errp}
		if st == supervisor.Running {
			pi.Start = fakeStart
		}
		f.procs[group+":"+name] = pi
	}
	add("cat", "cat", supervisor.Running, 100)
	add("g", "a", supervisor.Stopped, 0)
	add("g", "b", supervisor.Running, 102)
	if err := os.WriteFile(f.mainLog, []byte("main log line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fakeBackend) record(s string) {
	f.mu.Lock()
	f.calls = append(f.calls, s)
	f.mu.Unlock()
}

func (f *fakeBackend) find(name string) (*ProcessInfo, error) {
	g, p := splitNamespec(name)
	if pi, ok := f.procs[g+":"+p]; ok {
		return pi, nil
	}
	return nil, supervisor.NewFault(supervisor.CodeBadName, name)
}

func (f *fakeBackend) group(g string) ([]*ProcessInfo, error) {
	var out []*ProcessInfo
	for _, pi := range f.procs {
		if pi.Group == g {
			out = append(out, pi)
		}
	}
	if out == nil {
		return nil, supervisor.NewFault(supervisor.CodeBadName, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (f *fakeBackend) all() []*ProcessInfo {
	var out []*ProcessInfo
	for _, pi := range f.procs {
		out = append(out, pi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group+":"+out[i].Name < out[j].Group+":"+out[j].Name })
	return out
}

func (f *fakeBackend) Identification() string { return "supervisor" }
func (f *fakeBackend) PID() int               { return 4242 }
func (f *fakeBackend) State() supervisor.SupervisorState {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state
}
func (f *fakeBackend) MainLogPath() string { return f.mainLog }

func (f *fakeBackend) ClearMainLog(context.Context) error {
	f.record("clearLog")
	return os.WriteFile(f.mainLog, nil, 0o600)
}
func (f *fakeBackend) Shutdown(context.Context) error {
	f.mu.Lock()
	f.state = supervisor.StateShutdown
	f.mu.Unlock()
	return nil
}
func (f *fakeBackend) Restart(context.Context) error {
	f.mu.Lock()
	f.state = supervisor.StateRestarting
	f.mu.Unlock()
	return nil
}
func (f *fakeBackend) ReloadConfig(context.Context) (supervisor.UpdateResult, error) {
	return supervisor.UpdateResult{Added: []string{"new"}, Changed: []string{}, Removed: []string{"old"}}, nil
}
func (f *fakeBackend) Update(_ context.Context, names []string) (supervisor.UpdateResult, error) {
	return supervisor.UpdateResult{Changed: []string{"web"}, HandedOff: []string{"web"},
		Failed: []supervisor.Result{{Name: "api", Group: "api", Status: supervisor.CodeFailed, Description: "not ready"}}}, nil
}
func (f *fakeBackend) RotateLogs(_ context.Context, name string) ([]supervisor.Result, error) {
	if name != "cat" {
		return nil, supervisor.NewFault(supervisor.CodeBadName, name)
	}
	return []supervisor.Result{{Name: "cat", Group: "cat", Status: supervisor.CodeSuccess, Description: "OK"}}, nil
}
func (f *fakeBackend) RotateAllLogs(context.Context) ([]supervisor.Result, error) {
	return []supervisor.Result{{Name: "cat", Group: "cat", Status: supervisor.CodeSuccess, Description: "OK"}}, nil
}
func (f *fakeBackend) Scale(_ context.Context, name string, count int) ([]supervisor.Result, error) {
	f.mu.Lock()
	f.calls = append(f.calls, "scale "+name+" "+strconv.Itoa(count))
	f.mu.Unlock()
	if name != "web" {
		return nil, supervisor.NewFault(supervisor.CodeBadName, name)
	}
	return []supervisor.Result{{Name: "web_2", Group: "web", Status: supervisor.CodeSuccess, Description: "OK"}}, nil
}
func (f *fakeBackend) AddProcessGroup(_ context.Context, name string) error {
	switch name {
	case "cat", "g":
		return supervisor.NewFault(supervisor.CodeAlreadyAdded, name)
	case "new":
		return nil
	}
	return supervisor.NewFault(supervisor.CodeBadName, name)
}
func (f *fakeBackend) RemoveProcessGroup(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	ps, err := f.group(name)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.State == supervisor.Running {
			return supervisor.NewFault(supervisor.CodeStillRunning, name)
		}
	}
	return nil
}

func (f *fakeBackend) startLocked(pi *ProcessInfo, name string) error {
	if pi.State == supervisor.Running || pi.State == supervisor.Starting || pi.State == supervisor.Backoff {
		return supervisor.NewFault(supervisor.CodeAlreadyStarted, name)
	}
	pi.State, pi.PID, pi.Start = supervisor.Running, 200, fakeStart
	return nil
}

func (f *fakeBackend) StartProcess(ctx context.Context, name string, wait bool) error {
	f.record("start " + name)
	if f.block && wait {
		<-ctx.Done()
		return ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	pi, err := f.find(name)
	if err != nil {
		return err
	}
	return f.startLocked(pi, name)
}

func (f *fakeBackend) each(ps []*ProcessInfo, pred func(*ProcessInfo) bool, op func(*ProcessInfo) error) []supervisor.Result {
	rs := []supervisor.Result{}
	for _, p := range ps {
		if pred(p) {
			rs = append(rs, ResultOf(p.Name, p.Group, op(p)))
		}
	}
	return rs
}

func notRunning(p *ProcessInfo) bool { return p.State != supervisor.Running }
func running(p *ProcessInfo) bool    { return p.State == supervisor.Running }

func (f *fakeBackend) StartProcessGroup(_ context.Context, g string, _ bool) ([]supervisor.Result, error) {
	f.record("startgroup " + g)
	f.mu.Lock()
	defer f.mu.Unlock()
	ps, err := f.group(g)
	if err != nil {
		return nil, err
	}
	return f.each(ps, notRunning, func(p *ProcessInfo) error { return f.startLocked(p, p.Name) }), nil
}
func (f *fakeBackend) StartAllProcesses(context.Context, bool) ([]supervisor.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.each(f.all(), notRunning, func(p *ProcessInfo) error { return f.startLocked(p, p.Name) }), nil
}

func (f *fakeBackend) stopLocked(pi *ProcessInfo, name string) error {
	if pi.State != supervisor.Running {
		return supervisor.NewFault(supervisor.CodeNotRunning, name)
	}
	pi.State, pi.PID, pi.Stop = supervisor.Stopped, 0, fakeStart.Add(time.Hour)
	return nil
}

func (f *fakeBackend) StopProcess(_ context.Context, name string, _ bool) error {
	f.record("stop " + name)
	f.mu.Lock()
	defer f.mu.Unlock()
	pi, err := f.find(name)
	if err != nil {
		return err
	}
	return f.stopLocked(pi, name)
}
func (f *fakeBackend) StopProcessGroup(_ context.Context, g string, _ bool) ([]supervisor.Result, error) {
	f.record("stopgroup " + g)
	f.mu.Lock()
	defer f.mu.Unlock()
	ps, err := f.group(g)
	if err != nil {
		return nil, err
	}
	return f.each(ps, running, func(p *ProcessInfo) error { return f.stopLocked(p, p.Name) }), nil
}
func (f *fakeBackend) StopAllProcesses(context.Context, bool) ([]supervisor.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.each(f.all(), running, func(p *ProcessInfo) error { return f.stopLocked(p, p.Name) }), nil
}

func (f *fakeBackend) SignalProcess(_ context.Context, name string, sig syscall.Signal) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	pi, err := f.find(name)
	if err != nil {
		return err
	}
	if !pi.State.IsSignallable() {
		return supervisor.NewFault(supervisor.CodeNotRunning, name)
	}
	f.signals = append(f.signals, sig)
	return nil
}
func (f *fakeBackend) SignalProcessGroup(_ context.Context, g string, sig syscall.Signal) ([]supervisor.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ps, err := f.group(g)
	if err != nil {
		return nil, err
	}
	return f.each(ps, func(p *ProcessInfo) bool { return p.State.IsSignallable() },
		func(*ProcessInfo) error { f.signals = append(f.signals, sig); return nil }), nil
}
func (f *fakeBackend) SignalAllProcesses(_ context.Context, sig syscall.Signal) ([]supervisor.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.each(f.all(), func(p *ProcessInfo) bool { return p.State.IsSignallable() },
		func(*ProcessInfo) error { f.signals = append(f.signals, sig); return nil }), nil
}

func (f *fakeBackend) ProcessInfo(_ context.Context, name string) (ProcessInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	pi, err := f.find(name)
	if err != nil {
		return ProcessInfo{}, err
	}
	return *pi, nil
}
func (f *fakeBackend) AllProcessInfo(context.Context) ([]ProcessInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []ProcessInfo
	// Reverse order: the API must sort.
	all := f.all()
	for i := len(all) - 1; i >= 0; i-- {
		out = append(out, *all[i])
	}
	return out, nil
}
func (f *fakeBackend) AllConfigInfo(context.Context) ([]ConfigInfo, error) {
	return []ConfigInfo{
		{Name: "cat", Group: "cat", GroupPrio: 999, ProcessPrio: 999, InUse: true, Autostart: true,
			Command: "/bin/cat", UID: -1, ExitCodes: []int{0}, StartRetries: 3, StartSecs: 1, StopSignal: 15,
			StopWaitSecs: 10, Stdout: LogConfig{Logfile: "/tmp/cat.log", LogfileBackups: 10, LogfileMaxBytes: 52428800},
			Stderr: LogConfig{Logfile: "auto", LogfileBackups: 10, LogfileMaxBytes: 52428800}},
		{Name: "a", Group: "g", GroupPrio: 5, ProcessPrio: 1, Command: "/bin/a", Directory: "/srv", UID: 1000,
			ServerURL: "AUTO"},
	}, nil
}

func (f *fakeBackend) ClearProcessLogs(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, err := f.find(name)
	return err
}
func (f *fakeBackend) ClearAllProcessLogs(context.Context) ([]supervisor.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.each(f.all(), func(*ProcessInfo) bool { return true }, func(*ProcessInfo) error { return nil }), nil
}
func (f *fakeBackend) SendProcessStdin(_ context.Context, name string, data []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	pi, err := f.find(name)
	if err != nil {
		return err
	}
	if pi.PID == 0 {
		return supervisor.NewFault(supervisor.CodeNotRunning, name)
	}
	f.stdin = append(f.stdin, data...)
	return nil
}
func (f *fakeBackend) SendRemoteCommEvent(_ context.Context, typ, data string) error {
	f.record("comm " + typ + " " + data)
	return nil
}

// reload: a running process gets a new pid and generation (as a reexec
// reload would); a stopped one is NOT_RUNNING.
func (f *fakeBackend) reloadLocked(pi *ProcessInfo, name string) error {
	if pi.State != supervisor.Running {
		return supervisor.NewFault(supervisor.CodeNotRunning, name)
	}
	pi.PrevPID, pi.PID = pi.PID, pi.PID+1000
	pi.Generation++
	pi.Reexecs++
	f.calls = append(f.calls, "reload "+pi.Group+":"+pi.Name)
	return nil
}
func (f *fakeBackend) ReloadProcess(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	pi, err := f.find(name)
	if err != nil {
		return err
	}
	return f.reloadLocked(pi, name)
}
func (f *fakeBackend) ReloadProcessGroup(_ context.Context, g string, batch int) ([]supervisor.Result, error) {
	f.batch = batch
	f.mu.Lock()
	defer f.mu.Unlock()
	ps, err := f.group(g)
	if err != nil {
		return nil, err
	}
	return f.each(ps, func(p *ProcessInfo) bool { return p.State == supervisor.Running },
		func(p *ProcessInfo) error { return f.reloadLocked(p, p.Name) }), nil
}
func (f *fakeBackend) ReloadAllProcesses(_ context.Context, batch int) ([]supervisor.Result, error) {
	f.batch = batch
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.each(f.all(), func(p *ProcessInfo) bool { return p.State == supervisor.Running },
		func(p *ProcessInfo) error { return f.reloadLocked(p, p.Name) }), nil
}
