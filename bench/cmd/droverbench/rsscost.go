package main

import (
	"fmt"
	"os"
)

// rollupKB is a field of /proc/PID/smaps_rollup in KiB.
func rollupKB(pid int, key string) (int64, error) {
	return statusField(fmt.Sprintf("/proc/%d/smaps_rollup", pid), key)
}

// pssUSS is pid's proportional set size (shared pages split among the
// processes mapping them) and its unique set size (private pages), KiB.
func pssUSS(pid int) (pss, uss int64, err error) {
	if pss, err = rollupKB(pid, "Pss"); err != nil {
		return 0, 0, err
	}
	clean, err1 := rollupKB(pid, "Private_Clean")
	dirty, err2 := rollupKB(pid, "Private_Dirty")
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("pid %d: no Private_Clean/Private_Dirty", pid)
	}
	return pss, clean + dirty, nil
}

// ownCost is what a daemon costs in memory beyond its RSS row: its PSS
// plus that of every child running its own binary (a helper such as
// drover's fd keeper, which holds the pipes for crash survival; never a
// supervised program, which runs another binary), in KiB; the detail
// lists the daemon's and each helper's RSS, PSS and USS.
func ownCost(pid int) (int64, map[string]any, error) {
	pss, uss, err := pssUSS(pid)
	if err != nil {
		return 0, nil, err
	}
	rss, _ := rssKB(pid)
	detail := map[string]any{"daemon": map[string]int64{"pid": int64(pid), "Rss": rss, "Pss": pss, "Uss": uss}}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return 0, nil, err
	}
	total := pss
	var helpers []map[string]int64
	for child := range childrenOf(pid) {
		if e, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", child)); err != nil || e != exe {
			continue
		}
		p, u, err := pssUSS(child)
		if err != nil {
			continue // gone meanwhile
		}
		r, _ := rssKB(child)
		total += p
		helpers = append(helpers, map[string]int64{"pid": int64(child), "Rss": r, "Pss": p, "Uss": u})
	}
	detail["helpers"] = helpers
	return total, detail, nil
}
