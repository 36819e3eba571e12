package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"
)

// The floors are what this machine costs any supervisor, measured by the
// harness doing the bare work itself: they tell a goal the machine cannot
// meet from one drover misses.

// teardown times SIGKILL of the harness's own (notified, running) child
// → its exit as the parent sees it (pidfd wait): the kernel's part of a
// respawn after kill -9, before any supervisor can act.
func teardown(p *os.Process) float64 {
	t0 := mono()
	_ = p.Kill()
	_, _ = p.Wait()
	return ms(mono() - t0)
}

// spawnFloor fork+execs argv n times on workers goroutines, as fast as
// syscall.ForkExec returns (after the child's exec), and returns the wall
// time from the first to the last; then kills and reaps them all.
func spawnFloor(ctx context.Context, argv []string, n, workers int) (*cell, error) {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	fds := []uintptr{devnull.Fd(), devnull.Fd(), devnull.Fd()}
	attr := &syscall.ProcAttr{Env: os.Environ(), Files: fds, Sys: &syscall.SysProcAttr{Setpgid: true}}
	jobs := make(chan struct{}, n)
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	var (
		mu    sync.Mutex
		pids  []int
		first error
		wg    sync.WaitGroup
	)
	t0 := mono()
	for range workers {
		wg.Go(func() {
			for range jobs {
				if ctx.Err() != nil {
					return
				}
				pid, err := syscall.ForkExec(argv[0], argv, attr)
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				if err == nil {
					pids = append(pids, pid)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := mono() - t0
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	for _, pid := range pids {
		var ws syscall.WaitStatus
		_, _ = syscall.Wait4(pid, &ws, 0, nil)
	}
	if first != nil {
		return nil, first
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return value(float64(elapsed)/1e9, "s"), nil
}

// startupFloors reports the spawn floors beside the startup row: the
// fleet's own command n times on nproc workers, and on one.
func (h *harness) startupFloors(ctx context.Context) {
	argv := []string{h.sleep, "100000"}
	n := h.opt.Programs
	for _, f := range []struct {
		id, what string
		workers  int
	}{
		{"startup_floor", "startup floor: harness fork+execs the %d programs itself, nproc workers", runtime.NumCPU()},
		{"startup_floor_serial", "startup floor: the same, one worker (%d programs)", 1},
	} {
		c, err := spawnFloor(ctx, argv, n, f.workers)
		if err != nil {
			c = na(shortErr(err))
		} else if f.workers > 1 {
			h.spawnFloor = c.Value
		}
		for _, t := range h.targets {
			h.rep.set(f.id, fmt.Sprintf(f.what, n), "s", "(reference)", t.Name, c)
		}
		h.noRatio(f.id)
	}
}
