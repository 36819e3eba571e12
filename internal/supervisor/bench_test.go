package supervisor

import (
	"context"
	"runtime"
	"syscall"
	"testing"

	"github.com/drover-sh/drover/internal/config"
)

func manyGroups(n int) *config.Config {
	gs := make([]*config.Group, 0, n)
	for i := range n {
		gs = append(gs, single("p"+itoa(i), manual, startsecs(0)))
	}
	return cfgOf(gs...)
}

// BenchmarkStart500 spawns 500 processes through the fake host and waits
// until all are RUNNING (startAllProcesses with wait), per iteration.
func BenchmarkStart500(b *testing.B) {
	cfg := manyGroups(500)
	b.ReportAllocs()
	for b.Loop() {
		s := New(cfg, newFakeHost(), nil)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = s.Run(ctx); close(done) }()
		res, err := s.StartAll(ctx, true)
		if err != nil || len(res) != 500 || res[499].Status != CodeSuccess {
			b.Fatal(err, len(res))
		}
		cancel()
		<-done
	}
}

// BenchmarkTableMemory reports the heap held per RUNNING process (table,
// state machine, generation, pid route) once 500 are up.
func BenchmarkTableMemory(b *testing.B) {
	const n = 500
	cfg := manyGroups(n)
	var perProc float64
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s := New(cfg, newFakeHost(), nil)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = s.Run(ctx); close(done) }()
		if _, err := s.StartAll(ctx, true); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perProc = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(s)
		cancel()
		<-done
	}
	b.ReportMetric(perProc, "heapB/proc")
}

// runningSupervisor starts n processes and returns the running supervisor.
func runningSupervisor(b *testing.B, n int) *Supervisor { return runningConfig(b, manyGroups(n)) }

// runningConfig starts every process of cfg and returns the running supervisor.
func runningConfig(b *testing.B, cfg *config.Config) *Supervisor {
	s := New(cfg, newFakeHost(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	if _, err := s.StartAll(ctx, true); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkProcessInfo is one request round trip through the owner
// goroutine (getProcessInfo) with 500 processes in the table.
func BenchmarkProcessInfo(b *testing.B) {
	s := runningSupervisor(b, 500)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.ProcessInfo(ctx, "p250"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAllProcessInfo is getAllProcessInfo over 500 processes.
func BenchmarkAllProcessInfo(b *testing.B) {
	s := runningSupervisor(b, 500)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if all, err := s.AllProcessInfo(ctx); err != nil || len(all) != 500 {
			b.Fatal(err)
		}
	}
}

// BenchmarkReloadReexec is one reexec reload through the owner goroutine
// with a host that answers at once: reload signal, the old master's exit,
// the successor lookup, the adoption and the reply.
func BenchmarkReloadReexec(b *testing.B) {
	h := newFakeHost()
	s := New(cfgOf(single("web", manual, startsecs(0), reloadBy(config.ReloadReexec, 0))), h, nil)
	next := 100000
	h.onSignal = func(pid int, sig syscall.Signal) {
		next++
		h.succ[s.core.groups["web"].procs[0].cur.pgid] = next // owner goroutine: safe
		go s.Exited(pid, 0)
	}
	benchReloads(b, s)
}

// BenchmarkReloadBlueGreen is one blue/green hand-off through the owner
// goroutine with a host that answers at once: the new generation's spawn,
// its readiness (startsecs 0, no probe), the graceful signal to the old
// one, its exit and the reply.
func BenchmarkReloadBlueGreen(b *testing.B) {
	h := newFakeHost()
	s := New(cfgOf(single("web", manual, startsecs(0), reloadBy(config.ReloadBlueGreen, 0))), h, nil)
	h.onSignal = func(pid int, sig syscall.Signal) { go s.Exited(pid, 0) }
	benchReloads(b, s)
}

// benchReloads runs s, starts its "web" and times one ReloadProcess per
// iteration.
func benchReloads(b *testing.B, s *Supervisor) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	if _, err := s.StartAll(ctx, true); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.ReloadProcess(ctx, "web"); err != nil {
			b.Fatal(err)
		}
	}
}
