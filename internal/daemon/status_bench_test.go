package daemon

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/rpc"
	"github.com/drover-sh/drover/internal/supervisor"
)

// pidHost is a supervisor.Host whose spawns succeed at once with a new
// pid and whose signals are dropped: the daemon's side of a status call
// without 500 real children.
type pidHost struct{ next atomic.Int64 }

func (h *pidHost) Resolve(*config.Process) error { return nil }
func (h *pidHost) Logs(p *config.Process) (supervisor.Logs, error) {
	return supervisor.Logs{Stdout: p.Stdout.Path, Stderr: p.Stderr.Path}, nil
}
func (h *pidHost) Bind(*config.Process) (supervisor.Sockets, error) { return nil, io.EOF }
func (h *pidHost) Spawn(supervisor.SpawnRequest) (supervisor.Child, error) {
	return pidChild(int(h.next.Add(1)) + 100000), nil
}
func (h *pidHost) SpawnConcurrency() int                  { return 0 }
func (h *pidHost) Signal(int, syscall.Signal, bool) error { return nil }
func (h *pidHost) Successor(int, string) (int, bool)      { return 0, false }
func (h *pidHost) DrainPool(_ string, done func())        { go done() }
func (h *pidHost) Children(int) []int                     { return nil }
func (h *pidHost) NewChild(int, []int, string, time.Duration) (int, bool) {
	return 0, false
}
func (h *pidHost) WatchExit(int, func(syscall.WaitStatus)) (func(), error) {
	return nil, supervisor.ErrNoProcess
}
func (h *pidHost) KillTree(int) error                                      { return supervisor.ErrNoProcess }
func (h *pidHost) Adopt(supervisor.AdoptRequest) (supervisor.Child, error) { return nil, io.EOF }

// pidChild is a spawned pid with nothing else.
type pidChild int

func (c pidChild) Pid() int                        { return int(c) }
func (c pidChild) Exited()                         {}
func (c pidChild) WaitReady(context.Context) error { return nil }
func (c pidChild) RearmReady()                     {}
func (c pidChild) Stdin() io.Writer                { return nil }

// statusDaemon is a daemon whose supervisor runs n RUNNING programs
// (one group each, as [program:x] sections give; started by startAllProcesses,
// startsecs 0), with log paths as AUTO
// names them.
func statusDaemon(b *testing.B, n int) *daemon {
	return statusDaemonOn(b, n, &pidHost{})
}

// statusDaemonOn is statusDaemon over host.
func statusDaemonOn(b *testing.B, n int, host supervisor.Host) *daemon {
	cfg := &config.Config{}
	for i := range n {
		name := "p" + strconv.Itoa(i)
		p := &config.Process{
			Name: name, Program: name, Group: name, Command: "/bin/true", Argv: []string{"/bin/true"},
			Priority: 999, Autorestart: config.AutorestartUnexpected,
			StartRetries: 3, ExitCodes: []int{0}, StopSignal: syscall.SIGTERM, StopWait: 10 * time.Second,
			UID: -1, Umask: -1,
		}
		p.Stdout.Path = "/var/log/drover/" + name + "-stdout---supervisor-259cujos.log"
		p.Stderr.Path = "/var/log/drover/" + name + "-stderr---supervisor-q44k9dvm.log"
		cfg.Groups = append(cfg.Groups, &config.Group{Name: name, Kind: config.KindProgram, Priority: 999,
			Processes: []*config.Process{p}})
	}
	sup := supervisor.New(cfg, host, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = sup.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	res, err := sup.StartAll(ctx, true)
	if err != nil || len(res) != n {
		b.Fatal(len(res), err)
	}
	d := &daemon{}
	d.now.Store(&current{cfg: cfg, last: cfg, sup: sup})
	return d
}

// BenchmarkBackendAllProcessInfo500 is the backend's part of a status call
// on 500 RUNNING programs: the supervisor's snapshot, converted for the API.
func BenchmarkBackendAllProcessInfo500(b *testing.B) {
	be := backend{statusDaemon(b, 500)}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if all, err := be.AllProcessInfo(ctx); err != nil || len(all) != 500 || all[0].State != supervisor.Running {
			b.Fatal(err)
		}
	}
}

// BenchmarkServeStatus500 is the daemon's whole side of `drover status` on
// 500 RUNNING programs: drover.getAllProcessStatus read, answered by the
// real backend and sent over a kept-alive unix socket connection (the
// client only reads the answer).
func BenchmarkServeStatus500(b *testing.B) {
	c := serveOnSocket(b, statusDaemon(b, 500))
	body := "<?xml version='1.0'?>\n<methodCall>\n<methodName>drover.getAllProcessStatus</methodName>\n<params>\n</params>\n</methodCall>\n"
	b.ReportAllocs()
	var size int64
	for b.Loop() {
		resp, err := c.Post("http://localhost/RPC2", "text/xml", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		size, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || size < 500*100 {
			b.Fatal(resp.Status, size, err)
		}
	}
	b.SetBytes(size)
}

// serveOnSocket serves d's API on a unix socket in a temp dir until the
// benchmark ends and returns a kept-alive client for it.
func serveOnSocket(b *testing.B, d *daemon) *http.Client {
	b.Helper()
	srv, err := rpc.New(rpc.Options{Backend: backend{d}})
	if err != nil {
		b.Fatal(err)
	}
	sock := filepath.Join(b.TempDir(), "s.sock")
	if err := srv.Listen([]rpc.ListenerConfig{{Section: "unix_http_server", Unix: true, File: sock, UID: -1, GID: -1}}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}
	b.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}
