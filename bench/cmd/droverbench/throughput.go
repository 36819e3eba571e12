package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const throughputTimeout = 5 * time.Minute

// tpVariant is one child-log throughput case.
type tpVariant struct {
	ID, Name  string
	Total     int64
	WriteSize int
	MaxBytes  string // stdout_logfile_maxbytes
	Backups   int
	// Options are drover's own extra [program:x] lines (supervisord's
	// cell is n/a); LinePrefix is the bytes they add to each line.
	Options    []string
	LinePrefix int
}

// throughputVariants: 100-byte lines without rotation, the same with
// rotation at 50MB keeping 3 backups, and 64 KiB writes.
func throughputVariants(total int64) []tpVariant {
	noRotate := strconv.FormatInt(2*total+1, 10) // larger than what is written
	mib := total >> 20
	return []tpVariant{
		{"lines", fmt.Sprintf("%d MiB as 100-byte lines, 1 write each", mib), total, 100, noRotate, 0, nil, 0},
		{"rotate", fmt.Sprintf("%d MiB as 100-byte lines, rotating at 50MB ×3", mib), total, 100, "50MB", 3, nil, 0},
		// 4× the bytes: bulk is fast, and CPU time comes in 10 ms ticks.
		{"bulk", fmt.Sprintf("%d MiB in 64 KiB writes", 4*mib), 4 * total, 64 << 10, strconv.FormatInt(8*total+1, 10), 0, nil, 0},
		// lines with a time prefix on each ("1796537641.123 ": 15 bytes).
		{"lines_ts", fmt.Sprintf("%d MiB as 100-byte lines, 1 write each, stdout_timestamps (unix)", mib), total, 100, noRotate, 0,
			[]string{"stdout_timestamps=true", "log_timestamp_format=unix"}, 15},
		// lines as JSON: {"time":1796537641.123,"process":"prod",
		// "stream":"stdout","message":"…"} is 71 bytes more than each line.
		{"lines_json", fmt.Sprintf("%d MiB as 100-byte lines, 1 write each, stdout_logformat=json (unix)", mib), total, 100, noRotate, 0,
			[]string{"stdout_logformat=json", "log_timestamp_format=unix"}, 71},
	}
}

// inotifyFileMask is what the harness watches in a log directory.
const inotifyFileMask = unix.IN_CREATE | unix.IN_MODIFY | unix.IN_MOVED_TO | unix.IN_CLOSE_WRITE

// sizeTracker counts the bytes a daemon has written to a log that may
// rotate. On every event it stats the log and its backups (path, path.1 …
// path.N) and keeps every inode it has seen open, so a file rotated away
// (even deleted) still reports its final size: the total is the sum over
// those inodes. Nothing is lost unless N rotations happen between events.
type sizeTracker struct {
	paths []string
	total int64
	mu    sync.Mutex
	files map[uint64]*os.File
	size  int64 // bytes at the last event
	at    int64 // CLOCK_MONOTONIC when size first reached total
	full  chan struct{}
}

func newSizeTracker(path string, backups int, total int64) *sizeTracker {
	s := &sizeTracker{paths: []string{path}, total: total, files: map[uint64]*os.File{}, full: make(chan struct{})}
	for i := 1; i <= backups; i++ {
		s.paths = append(s.paths, fmt.Sprintf("%s.%d", path, i))
	}
	return s
}

func (s *sizeTracker) update() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.at != 0 {
		return
	}
	for _, p := range s.paths {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			continue
		}
		if _, ok := s.files[st.Ino]; ok {
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		var fst syscall.Stat_t
		if err := syscall.Fstat(int(f.Fd()), &fst); err != nil || s.files[fst.Ino] != nil {
			_ = f.Close() // renamed again between stat and open: already known
			continue
		}
		s.files[fst.Ino] = f
	}
	var sum int64
	for _, f := range s.files {
		if fi, err := f.Stat(); err == nil {
			sum += fi.Size()
		}
	}
	s.size = sum
	if sum >= s.total {
		s.at = mono()
		close(s.full)
	}
}

func (s *sizeTracker) bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size
}

func (s *sizeTracker) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.files {
		_ = f.Close()
	}
}

// throughput runs one producer under the daemon and returns MB/s (10^6
// bytes) from the producer's first write to the log holding every byte,
// and the daemon's CPU (utime+stime) over that span as % of one core.
func (h *harness) throughput(ctx context.Context, t *target, v tpVariant) (mbs, cpu *cell) {
	fail := func(reason string) (*cell, *cell) { return na(reason), na(reason) }
	if len(v.Options) > 0 && t.Name == "supervisord" {
		return fail("drover's own option")
	}
	settleDisk()
	dir, n, err := h.newRun(t.Name + "-" + v.ID)
	if err != nil {
		return fail(shortErr(err))
	}
	defer dropOutput(dir)
	defer n.Close()
	logPath := filepath.Join(dir, "prod.log")
	conf, err := benchConfig(dir, []program{{
		Name:    "prod",
		Command: fmt.Sprintf("%s produce %s %d %d", h.self, n.Path, v.Total, v.WriteSize),
		Options: append([]string{"autorestart=false", "startsecs=0", "startretries=0",
			"stdout_logfile=" + logPath,
			"stdout_logfile_maxbytes=" + v.MaxBytes,
			"stdout_logfile_backups=" + strconv.Itoa(v.Backups)}, v.Options...),
	}})
	if err != nil {
		return fail(shortErr(err))
	}
	tr := newSizeTracker(logPath, v.Backups, v.Total+v.Total/int64(v.WriteSize)*int64(v.LinePrefix))
	defer tr.close()
	w, err := watchDir(dir, inotifyFileMask, func(name string) {
		if strings.HasPrefix(name, "prod.log") || name == overflowName {
			tr.update()
		}
	})
	if err != nil {
		return fail(shortErr(err))
	}
	defer w.Close()
	d, err := startDaemon(t, dir, conf)
	if err != nil {
		return fail(shortErr(err))
	}
	defer d.Stop(stopGrace)

	first, err := waitNote(ctx, n, d.Exited(), firstNoteTimeout, func(nt note) bool { return nt.Kind == "produce" })
	if err != nil {
		return fail(d.Why(fmt.Errorf("producer: %w", err)))
	}
	cpu0, err := cpuTicks(d.Pid)
	if err != nil {
		return fail(shortErr(err))
	}
	timer := time.NewTimer(throughputTimeout)
	defer timer.Stop()
	select {
	case <-tr.full:
	case <-d.Exited():
		return fail(d.Why(errDaemonExited))
	case <-timer.C:
		got := tr.bytes()
		return fail(fmt.Sprintf("timeout: %d of %d MB logged in %v", got/1e6, v.Total/1e6, throughputTimeout))
	case <-ctx.Done():
		return fail(shortErr(ctx.Err()))
	}
	cpu1, err := cpuTicks(d.Pid)
	if err != nil {
		return fail(shortErr(err))
	}
	tr.mu.Lock()
	end := tr.at
	tr.mu.Unlock()
	span := float64(end-first.Stamp) / 1e9
	if span <= 0 {
		return fail(shortErr(errors.New("empty time span")))
	}
	cpuSpan := float64(end-first.Recv) / 1e9
	mbs = value(float64(v.Total)/1e6/span, "MB/s")
	mbs.Detail = map[string]any{"seconds": span, "bytes": v.Total, "write_size": v.WriteSize}
	cpu = value(float64(cpu1-cpu0)/clockTicks/cpuSpan*100, "%")
	cpu.Detail = map[string]any{"cpu_ticks": cpu1 - cpu0, "seconds": cpuSpan}
	return mbs, cpu
}

// throughputBaseline is the ceiling for a variant on this machine: the
// harness itself runs the producer with stdout on a pipe and copies the
// pipe to a file with 128 KiB reads, as a minimal supervisor would. MB/s is
// measured the same way (first-write stamp → last byte written).
//
// It also returns the harness's own CPU (user+system, all threads) over
// the same span as % of one core: the cost of the bare copy here, the
// floor under a daemon's CPU row.
func (h *harness) throughputBaseline(ctx context.Context, v tpVariant) (mbps, cpu *cell) {
	c, cpu := h.copyBaseline(ctx, v)
	if cpu == nil {
		cpu = c
	}
	return c, cpu
}

func (h *harness) copyBaseline(ctx context.Context, v tpVariant) (*cell, *cell) {
	settleDisk()
	dir, n, err := h.newRun("baseline-" + v.ID)
	if err != nil {
		return na(shortErr(err)), nil
	}
	defer dropOutput(dir)
	defer n.Close()
	out, err := os.Create(filepath.Join(dir, "prod.log"))
	if err != nil {
		return na(shortErr(err)), nil
	}
	defer out.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return na(shortErr(err)), nil
	}
	defer r.Close()
	argv := []string{h.self, "produce", n.Path, strconv.FormatInt(v.Total, 10), strconv.Itoa(v.WriteSize)}
	p, err := os.StartProcess(h.self, argv, &os.ProcAttr{Files: []*os.File{nil, w, os.Stderr}})
	w.Close()
	if err != nil {
		return na(shortErr(err)), nil
	}
	defer func() { _ = p.Kill(); _, _ = p.Wait() }()
	// The copy ends at EOF (the producer exited) or when ctx ends.
	stop := context.AfterFunc(ctx, func() { _ = r.SetReadDeadline(time.Now()) })
	defer stop()
	buf := make([]byte, 128<<10)
	cpu0 := selfCPU()
	var copied int64
	var end int64
	for copied < v.Total {
		k, err := r.Read(buf)
		if k > 0 {
			if _, werr := out.Write(buf[:k]); werr != nil {
				return na(shortErr(werr)), nil
			}
			copied += int64(k)
			end = mono()
		}
		if err != nil {
			break
		}
	}
	cpuNs := selfCPU() - cpu0
	if copied < v.Total {
		return na(fmt.Sprintf("copied %d of %d bytes", copied, v.Total)), nil
	}
	first, err := waitNote(ctx, n, nil, firstNoteTimeout, func(nt note) bool { return nt.Kind == "produce" })
	if err != nil {
		return na(shortErr(err)), nil
	}
	c := value(float64(v.Total)/1e6/(float64(end-first.Stamp)/1e9), "MB/s")
	c.Detail = map[string]any{"seconds": float64(end-first.Stamp) / 1e9, "bytes": v.Total}
	return c, value(100*float64(cpuNs)/float64(end-first.Stamp), "%")
}

// producerCeiling runs the producer alone with stdout on /dev/null: no
// pipe, no reader. MB/s from its first-write stamp to its exit is the most
// any supervisor could capture from it on this machine.
func (h *harness) producerCeiling(ctx context.Context, v tpVariant) *cell {
	_, n, err := h.newRun("ceiling-" + v.ID)
	if err != nil {
		return na(shortErr(err))
	}
	defer n.Close()
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return na(shortErr(err))
	}
	defer devnull.Close()
	argv := []string{h.self, "produce", n.Path, strconv.FormatInt(v.Total, 10), strconv.Itoa(v.WriteSize)}
	p, err := os.StartProcess(h.self, argv, &os.ProcAttr{Files: []*os.File{nil, devnull, os.Stderr}})
	if err != nil {
		return na(shortErr(err))
	}
	stop := context.AfterFunc(ctx, func() { _ = p.Kill() })
	defer stop()
	st, err := p.Wait()
	end := mono()
	if err != nil || !st.Success() {
		return na(fmt.Sprintf("producer: %v %v", err, st))
	}
	first, err := waitNote(ctx, n, nil, firstNoteTimeout, func(nt note) bool { return nt.Kind == "produce" })
	if err != nil {
		return na(shortErr(err))
	}
	c := value(float64(v.Total)/1e6/(float64(end-first.Stamp)/1e9), "MB/s")
	c.Detail = map[string]any{"seconds": float64(end-first.Stamp) / 1e9, "bytes": v.Total}
	return c
}

// settleDisk writes back every dirty page before a throughput run, so
// no run is throttled by the previous one's gigabyte still in writeback
// (without it, 64 KiB-write figures swung 300–2,400 MB/s with the order
// of the runs).
func settleDisk() { unix.Sync() }

// dropOutput removes a throughput run's log files once it was measured
// (deferred first, so it runs after the daemon stopped and the tracker
// closed them). Kept until the bench ends, as the rest of the run's
// directory is, each run's 1 GiB stayed in the page cache, and on the
// 2-core VM (24 GB) writing a file once the page cache held about 5 GB
// cost 5–10× the CPU per byte for any writer (drover 0.45 → 2.1–4.9
// s/GiB, supervisord too): the column measured later paid for the earlier
// ones' files. Every target and floor gets the same treatment.
func dropOutput(dir string) {
	logs, _ := filepath.Glob(filepath.Join(dir, "prod.log*"))
	for _, f := range logs {
		_ = os.Remove(f)
	}
}

// selfCPU is the harness's user+system time so far, in ns.
func selfCPU() int64 {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// spliceBaseline is the floor under a capture that does not copy: the
// harness runs the producer on a pipe and moves the pipe's pages into a
// file with splice(2), as drover's splice path does. MB/s and the
// harness's CPU are measured as in copyBaseline.
func (h *harness) spliceBaseline(ctx context.Context, v tpVariant) (*cell, *cell) {
	settleDisk()
	dir, n, err := h.newRun("splice-" + v.ID)
	if err != nil {
		return na(shortErr(err)), na(shortErr(err))
	}
	defer dropOutput(dir)
	defer n.Close()
	out, err := os.Create(filepath.Join(dir, "prod.log"))
	if err != nil {
		return na(shortErr(err)), na(shortErr(err))
	}
	defer out.Close()
	// A blocking pipe (not Go's poller): splice then waits for data.
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return na(shortErr(err)), na(shortErr(err))
	}
	r, w := os.NewFile(uintptr(p[0]), "pipe-r"), os.NewFile(uintptr(p[1]), "pipe-w")
	defer r.Close()
	argv := []string{h.self, "produce", n.Path, strconv.FormatInt(v.Total, 10), strconv.Itoa(v.WriteSize)}
	proc, err := os.StartProcess(h.self, argv, &os.ProcAttr{Files: []*os.File{nil, w, os.Stderr}})
	w.Close()
	if err != nil {
		return na(shortErr(err)), na(shortErr(err))
	}
	defer func() { _ = proc.Kill(); _, _ = proc.Wait() }()
	stop := context.AfterFunc(ctx, func() { _ = proc.Kill() }) // EOF ends the loop
	defer stop()
	rfd, wfd := int(r.Fd()), int(out.Fd())
	cpu0 := selfCPU()
	var copied, end int64
	for copied < v.Total {
		k, err := unix.Splice(rfd, nil, wfd, nil, 1<<20, unix.SPLICE_F_MOVE)
		if k > 0 {
			copied += k
			end = mono()
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || k == 0 {
			break
		}
	}
	cpuNs := selfCPU() - cpu0
	if copied < v.Total {
		return na(fmt.Sprintf("spliced %d of %d bytes", copied, v.Total)), na("incomplete")
	}
	first, err := waitNote(ctx, n, nil, firstNoteTimeout, func(nt note) bool { return nt.Kind == "produce" })
	if err != nil {
		return na(shortErr(err)), na(shortErr(err))
	}
	c := value(float64(v.Total)/1e6/(float64(end-first.Stamp)/1e9), "MB/s")
	c.Detail = map[string]any{"seconds": float64(end-first.Stamp) / 1e9, "bytes": v.Total}
	return c, value(100*float64(cpuNs)/float64(end-first.Stamp), "%")
}
