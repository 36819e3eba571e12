package main

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/PID/stat; it is
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// statusField returns a numeric field ("VmRSS", "voluntary_ctxt_switches")
// of a /proc/.../status file; kB units are dropped.
func statusField(path, key string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k != key {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			break
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s in %s: %w", key, path, err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("%s: no %s", path, key)
}

// rssKB is the resident set size of pid in KiB.
func rssKB(pid int) (int64, error) {
	return statusField(fmt.Sprintf("/proc/%d/status", pid), "VmRSS")
}

// rssBreakdown is the anonymous and file-backed parts of pid's RSS (kB,
// /proc/PID/status) and the thread count, for the JSON detail: a Go
// daemon's file-backed part is most of its own binary.
func rssBreakdown(pid int) map[string]any {
	out := map[string]any{}
	for _, f := range []string{"RssAnon", "RssFile", "Threads"} {
		if v, err := statusField(fmt.Sprintf("/proc/%d/status", pid), f); err == nil {
			out[f] = v
		}
	}
	if kb, err := exeReadOnlyKB(pid); err == nil {
		out["ExeTextRodataKB"] = kb
	}
	return out
}

// exeReadOnlyKB is the size in KiB of pid's executable's read-only
// loadable segments (text and rodata): what its RssFile tends to once the
// binary is in the page cache, since each page fault maps the cached
// pages around it (fault-around, 64 KiB) and a Go daemon touches code and
// metadata all over its binary.
func exeReadOnlyKB(pid int) (int64, error) {
	f, err := elf.Open(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var n uint64
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_W == 0 {
			n += p.Memsz
		}
	}
	return int64(n >> 10), nil
}

// taskSwitches is the voluntary plus non-voluntary context switches of
// each thread of pid, by thread id.
func taskSwitches(pid int) (map[string]int64, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) == 0 {
		return nil, fmt.Errorf("no threads for pid %d", pid)
	}
	per := map[string]int64{}
	for _, t := range tasks {
		v, err1 := statusField(t, "voluntary_ctxt_switches")
		nv, err2 := statusField(t, "nonvoluntary_ctxt_switches")
		if err1 != nil || err2 != nil {
			continue // the thread exited between the glob and the read
		}
		per[filepath.Base(filepath.Dir(t))] = v + nv
	}
	if len(per) == 0 {
		return nil, fmt.Errorf("no readable threads for pid %d", pid)
	}
	return per, nil
}

// procStat is the part of /proc/PID/stat the harness uses.
type procStat struct {
	State      byte
	PPid       int
	UTime      int64 // clock ticks
	STime      int64 // clock ticks
	StartTicks int64 // since boot, identifies the pid's incarnation
}

// readStat parses /proc/PID/stat; the command name may hold spaces and
// parentheses, so fields are counted from the last ')'.
func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, fmt.Errorf("stat of %d: %w", pid, err)
	}
	return parseStat(b)
}

func parseStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("bad stat line %q", b)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime is field 14, stime 15, starttime 22.
	if len(f) < 20 || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("short stat line %q", b)
	}
	var st procStat
	var errs [4]error
	st.State = f[0][0]
	st.PPid, errs[0] = strconv.Atoi(f[1])
	st.UTime, errs[1] = strconv.ParseInt(f[11], 10, 64)
	st.STime, errs[2] = strconv.ParseInt(f[12], 10, 64)
	st.StartTicks, errs[3] = strconv.ParseInt(f[19], 10, 64)
	for _, e := range errs {
		if e != nil {
			return procStat{}, fmt.Errorf("stat line %q: %w", b, e)
		}
	}
	return st, nil
}

// cpuTicks is utime+stime of pid (all its threads, living and dead).
func cpuTicks(pid int) (int64, error) {
	st, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	return st.UTime + st.STime, nil
}

// childrenOf lists the pids whose parent is ppid, with their stat.
func childrenOf(ppid int) map[int]procStat {
	out := map[int]procStat{}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readStat(pid)
		if err != nil || st.PPid != ppid {
			continue
		}
		out[pid] = st
	}
	return out
}

// zombiesOf lists the children of ppid in state Z.
func zombiesOf(ppid int) map[int]procStat {
	out := childrenOf(ppid)
	for pid, st := range out {
		if st.State != 'Z' {
			delete(out, pid)
		}
	}
	return out
}
