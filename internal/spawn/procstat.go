package spawn

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
)

// ProcStat is what drover reads of a process's /proc/PID/stat: whose
// child it is, its process group, whether it still runs, when it started,
// and for the limit watchdog its resident set and CPU time.
type ProcStat struct {
	State byte // field 3: 'R', 'S', 'Z' (zombie), 'X' (dead), ...
	PPid  int
	PGid  int
	// CPU is fields 14 and 15, utime + stime: clock ticks (USER_HZ).
	CPU uint64
	// Start is field 22: clock ticks after boot.
	Start uint64
	// RSS is field 24: resident pages (shared ones included, as statm's
	// resident).
	RSS int64
}

// errBadStat is what ReadProcStat returns for a stat line it cannot read.
var errBadStat = errors.New("unreadable /proc stat line")

// ReadProcStat reads /proc/pid/stat. A process that is gone gives an
// error matching fs.ErrNotExist.
func ReadProcStat(pid int) (ProcStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
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
	// f[0] is field 3 (state): ppid is field 4, pgrp 5, utime 14, stime
	// 15, starttime 22, rss 24.
	if len(f) < 22 || len(f[0]) != 1 {
		return ProcStat{}, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgid, err2 := strconv.Atoi(f[2])
	start, err3 := strconv.ParseUint(f[19], 10, 64)
	utime, err4 := strconv.ParseUint(f[11], 10, 64)
	stime, err5 := strconv.ParseUint(f[12], 10, 64)
	rss, err6 := strconv.ParseInt(f[21], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || err5 != nil || err6 != nil {
		return ProcStat{}, false
	}
	return ProcStat{State: f[0][0], PPid: ppid, PGid: pgid, CPU: utime + stime, Start: start, RSS: rss}, true
}
