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
// time from the first to the last; then kills and reaps them all. With
// pipes, each child gets a stdin, stdout and stderr pipe (made per child)
// whose other ends the harness keeps open until the end, as a supervisor
// does. (The descriptors held cost too: every fork copies the table, and
// 500 fork+execs on 4 threads holding 2,500 pipe ends took 0.358 s
// against 0.308 s holding none, means of 5 in one run. An earlier note
// here said the opposite, from fewer samples.)
func spawnFloor(ctx context.Context, argv []string, n, workers int, pipes bool) (*cell, error) {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	var held []int // with pipes: the harness's ends
	defer func() { closeAll(held) }()
	env := os.Environ()
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
	t0, cpu0 := mono(), selfCPU()
	for range workers {
		wg.Go(func() {
			for range jobs {
				if ctx.Err() != nil {
					return
				}
				fds := []uintptr{devnull.Fd(), devnull.Fd(), devnull.Fd()}
				var mine, theirs []int
				if pipes {
					var perr error
					if mine, theirs, perr = childPipes(); perr != nil {
						mu.Lock()
						if first == nil {
							first = perr
						}
						mu.Unlock()
						return
					}
					fds = []uintptr{uintptr(theirs[0]), uintptr(theirs[1]), uintptr(theirs[2])}
				}
				attr := &syscall.ProcAttr{Env: env, Files: fds, Sys: &syscall.SysProcAttr{Setpgid: true}}
				pid, err := syscall.ForkExec(argv[0], argv, attr)
				closeAll(theirs)
				mu.Lock()
				held = append(held, mine...)
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
	elapsed, cpu := mono()-t0, selfCPU()-cpu0
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
	c := value(float64(elapsed)/1e9, "s")
	// The harness's CPU over the spawns (the children's own, from their
	// fork on, is theirs), to set beside the daemon's startup CPU.
	c.Detail = map[string]any{"cpu_s": float64(cpu) / 1e9}
	return c, nil
}

// childPipes makes a child's stdin, stdout and stderr pipes (close-on-exec
// both ends, as a supervisor's): the parent's ends, then the child's.
func childPipes() (mine, theirs []int, err error) {
	for i := range 3 {
		var p [2]int
		if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
			closeAll(mine)
			closeAll(theirs)
			return nil, nil, err
		}
		if i == 0 { // stdin: the child reads
			mine, theirs = append(mine, p[1]), append(theirs, p[0])
		} else {
			mine, theirs = append(mine, p[0]), append(theirs, p[1])
		}
	}
	return mine, theirs, nil
}

func closeAll(fds []int) {
	for _, fd := range fds {
		syscall.Close(fd)
	}
}

// startupFloors reports the spawn floors beside the startup row: the
// fleet's own command n times on nproc workers, and on one.
func (h *harness) startupFloors(ctx context.Context) {
	argv := []string{h.sleep, "100000"}
	n := h.opt.Programs
	for _, f := range []struct {
		id, what string
		workers  int
		pipes    bool
	}{
		{"startup_floor", "startup floor: harness fork+execs the %d programs itself, nproc workers", runtime.NumCPU(), false},
		{"startup_floor_serial", "startup floor: the same, one worker (%d programs)", 1, false},
		{"startup_floor_pipes", "startup floor: the same on nproc workers, each child on 3 pipes whose other ends the harness holds, as a supervisor does (%d programs)", runtime.NumCPU(), true},
	} {
		c, err := spawnFloor(ctx, argv, n, f.workers, f.pipes)
		if err != nil {
			c = na(shortErr(err))
		}
		for _, t := range h.targets {
			h.rep.set(f.id, fmt.Sprintf(f.what, n), "s", "(reference)", t.Name, c)
		}
		h.noRatio(f.id)
	}
	c, err := autoLogFloor(h.tmp, n)
	if err != nil {
		c = na(shortErr(err))
	}
	for _, t := range h.targets {
		h.rep.set("startup_logs_floor", fmt.Sprintf("startup floor: harness creates the %d AUTO logs (2 per program, O_CREAT+O_EXCL) in a new dir, one thread", 2*n), "s", "(reference)", t.Name, c)
	}
	h.noRatio("startup_logs_floor")
}

// autoLogFloor creates 2n empty files named like AUTO child logs in a
// fresh directory, as both daemons do for the fleet before (supervisord)
// or as (drover, at config load) it spawns: creates in one directory
// serialise on its lock in the kernel, so one thread is the floor.
func autoLogFloor(tmp string, n int) (*cell, error) {
	dir, err := os.MkdirTemp(tmp, "autologs-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	t0 := mono()
	for i := range n {
		for _, ch := range []string{"stdout", "stderr"} {
			name := fmt.Sprintf("%s/p%04d-%s---supervisor-%08d.log", dir, i, ch, i)
			fd, err := syscall.Open(name, syscall.O_RDWR|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, 0o600)
			if err != nil {
				return nil, err
			}
			_ = syscall.Close(fd)
		}
	}
	return value(float64(mono()-t0)/1e9, "s"), nil
}
