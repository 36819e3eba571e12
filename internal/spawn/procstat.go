package spawn

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ProcStat is what drover reads of a process's /proc/PID/stat: whose
// child it is, its process group, whether it still runs, when it started,
// and for the limit watchdog its resident set and CPU time.
type ProcStat struct {
	State byte // field 3: 'R', 'S', 'Z' (zombie), 'X' (dead), ...
	PPid  int
	PGid  int
	// Flags is field 9, the kernel's PF_* flags of the process.
	Flags uint64
	// CPU is fields 14 and 15, utime + stime: clock ticks (USER_HZ).
	CPU uint64
	// Start is field 22: clock ticks after boot.
	Start uint64
	// RSS is field 24: resident pages (shared ones included, as statm's
	// resident).
	RSS int64
	// Threads is field 20, num_threads.
	Threads int
	// ExitCode is field 52, a zombie's wait status (0 while it runs); -1
	// when the line stops before it.
	ExitCode int
}

// errBadStat is what ReadProcStat returns for a stat line it cannot read.
var errBadStat = errors.New("unreadable /proc stat line")

// ReadProcStat reads /proc/pid/stat. A process that is gone gives an
// error matching fs.ErrNotExist.
func ReadProcStat(pid int) (ProcStat, error) {
	var buf [1024]byte
	b, err := ReadProcFile("/proc/"+strconv.Itoa(pid)+"/stat", buf[:0])
	if err != nil {
		return ProcStat{}, err
	}
	st, ok := ParseProcStat(b)
	if !ok {
		return ProcStat{}, errBadStat
	}
	return st, nil
}

// ParseProcStat reads the fields after "(comm)" of a /proc/PID/stat line;
// comm may hold spaces and parentheses, so the last ')' ends it. It
// reports false, with a zero ProcStat, for a line without those fields.
func ParseProcStat(b []byte) (ProcStat, bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 > len(b) {
		return ProcStat{}, false
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): ppid is field 4, pgrp 5, flags 9, utime
	// 14, stime 15, starttime 22, rss 24, exit_code 52.
	if len(f) < 22 || len(f[0]) != 1 {
		return ProcStat{}, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgid, err2 := strconv.Atoi(f[2])
	start, err3 := strconv.ParseUint(f[19], 10, 64)
	utime, err4 := strconv.ParseUint(f[11], 10, 64)
	stime, err5 := strconv.ParseUint(f[12], 10, 64)
	rss, err6 := strconv.ParseInt(f[21], 10, 64)
	threads, err7 := strconv.Atoi(f[17])
	flags, err8 := strconv.ParseUint(f[6], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || err5 != nil || err6 != nil || err7 != nil || err8 != nil {
		return ProcStat{}, false
	}
	exit := -1
	if len(f) >= 50 {
		n, err := strconv.Atoi(f[49])
		if err != nil {
			return ProcStat{}, false
		}
		exit = n
	}
	return ProcStat{State: f[0][0], PPid: ppid, PGid: pgid, Flags: flags, CPU: utime + stime, Start: start, RSS: rss, Threads: threads, ExitCode: exit}, true
}

// pfForkNoExec is the kernel's PF_FORKNOEXEC: set by fork, cleared by exec.
const pfForkNoExec = 0x40

// Execed reports whether the process ran an exec since it was forked: a
// forked copy of its parent that never execs (a pre-fork server's worker,
// the child Go's runtime forks to probe clone(CLONE_PIDFD)) reports false.
func (s ProcStat) Execed() bool { return s.Flags&pfForkNoExec == 0 }

// ReadProcFile appends the content of a /proc file to buf with plain
// open, read and close: os.ReadFile's fstat, fcntl and poller registration
// made reading the trees of 500 programs (a status on a terminal, a
// scrape) twice as slow. A read of at most shortReadEOF bytes that comes
// back short is the end: a seq file fills every read until its end unless
// its own buffer (a page, at least 4 KiB) overflows first, which a read
// that small cannot meet; larger reads go on until read returns 0. A
// missing file's error matches fs.ErrNotExist.
func ReadProcFile(path string, buf []byte) ([]byte, error) {
	const shortReadEOF = 2048
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return buf, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return buf, &os.PathError{Op: "read", Path: path, Err: err}
		}
		room := cap(buf) - len(buf)
		buf = buf[:len(buf)+n]
		if n == 0 || n < room && room <= shortReadEOF {
			return buf, nil
		}
	}
}
