package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// The kernel's own cost of putting log bytes into a file, in CPU seconds
// per GiB, which no capture can go below: every byte is copied once into
// the page cache, whether it comes from a pipe by splice(2) (drover) or
// from a read buffer by write(2) (a read+write capture such as
// supervisord's, which also pays the read). The bulk_cpu goal (≤ 50 % of
// supervisord's CPU while moving ≥ 1.5× its MB/s) is weighed against
// these: the floor at a daemon's MB/s is what its CPU row cannot go under.
const (
	floorChunk = 1 << 20 // one full pipe (F_SETPIPE_SZ), one write
	floorReps  = 3
)

// kernelFloor times, on one locked thread with no other process involved,
// splice calls that empty full 1 MiB pipes into a file and write calls of
// 1 MiB from memory into another, total bytes each, floorReps times; the
// median CPU-s/GiB of each. Only the splice or write calls are timed
// (CLOCK_THREAD_CPUTIME_ID): filling the pipe, the producer's part, is not.
func (h *harness) kernelFloor(total int64) (spliceCell, writeCell *cell) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var sp, wr []float64
	for range floorReps {
		s, err := h.floorRun(total, true)
		if err != nil {
			return na(shortErr(err)), na(shortErr(err))
		}
		w, err := h.floorRun(total, false)
		if err != nil {
			return na(shortErr(err)), na(shortErr(err))
		}
		sp, wr = append(sp, s), append(wr, w)
	}
	spliceCell, writeCell = value(median(sp), "s/GiB"), value(median(wr), "s/GiB")
	spliceCell.Samples, writeCell.Samples = sp, wr
	return spliceCell, writeCell
}

// floorRun moves total bytes into a new file by splice (or write) and
// returns the CPU seconds per GiB those calls took.
func (h *harness) floorRun(total int64, splice bool) (float64, error) {
	settleDisk()
	dir, err := h.newDir("kernel-floor")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	out, err := os.Create(filepath.Join(dir, "prod.log"))
	if err != nil {
		return 0, err
	}
	defer out.Close()
	buf := make([]byte, floorChunk)
	for i := range buf {
		buf[i] = byte('a' + i%26)
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return 0, err
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	if _, err := unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, floorChunk); err != nil {
		return 0, fmt.Errorf("F_SETPIPE_SZ: %w", err)
	}
	ofd := int(out.Fd())
	var cpuNs int64
	for moved := int64(0); moved < total; {
		n := int(min(int64(floorChunk), total-moved))
		if splice {
			// The pipe holds exactly floorChunk: a full write never blocks.
			if _, err := unix.Write(p[1], buf[:n]); err != nil {
				return 0, err
			}
		}
		t0 := threadCPU()
		for left := n; left > 0; {
			var k int
			var err error
			if splice {
				var k64 int64
				k64, err = unix.Splice(p[0], nil, ofd, nil, left, unix.SPLICE_F_MOVE)
				k = int(k64)
			} else {
				k, err = unix.Write(ofd, buf[n-left:n])
			}
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return 0, err
			}
			if k == 0 {
				return 0, fmt.Errorf("moved 0 bytes")
			}
			left -= k
		}
		cpuNs += threadCPU() - t0
		moved += int64(n)
	}
	return float64(cpuNs) / 1e9 / (float64(total) / (1 << 30)), nil
}

// threadCPU is the calling thread's CPU time in ns.
func threadCPU() int64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return ts.Nano()
}

// cpuPerGiB is a throughput run's CPU in seconds per GiB moved, from its
// MB/s and CPU cells.
func cpuPerGiB(mbs, cpu *cell) *cell {
	if mbs == nil || cpu == nil || mbs.NA != "" || cpu.NA != "" || mbs.Value <= 0 {
		return na("no throughput figure")
	}
	// cpu % of one core at mbs 10^6 B/s.
	return value(cpu.Value/100/(mbs.Value*1e6/(1<<30)), "s/GiB")
}

// floorAt is the kernel floor (s/GiB) as % of one core at a run's MB/s:
// the least CPU row that run could show.
func floorAt(floor, mbs *cell) *cell {
	if floor == nil || mbs == nil || floor.NA != "" || mbs.NA != "" {
		return na("no floor or throughput figure")
	}
	return value(floor.Value*mbs.Value*1e6/(1<<30)*100, "%")
}
