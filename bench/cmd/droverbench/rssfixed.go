package main

import (
	"context"
	"fmt"
)

// rssFixed splits the rss row into what the daemon holds whatever the
// fleet (its binary's resident pages, the runtime, its servers: the same
// daemon with one program) and what each further program adds, so that a
// miss of the total says which of the two it is.
func (h *harness) rssFixed(ctx context.Context, t *target) {
	n := h.opt.Programs
	one := "daemon RSS with 1 program RUNNING (its fixed cost: binary pages, runtime, servers)"
	per := fmt.Sprintf("RSS each program adds: (RSS with %d − RSS with 1) ÷ %d", n, n-1)
	kb1, c, err := h.rssOne(ctx, t)
	if err != nil {
		h.rep.set("rss_one", one, "MB", "—", t.Name, na(shortErr(err)))
		h.rep.set("rss_per_program", per, "kB", "—", t.Name, na("no 1-program figure"))
		return
	}
	h.rep.set("rss_one", one, "MB", "—", t.Name, c)
	kbN, ok := h.fleetRSS[t.Name]
	if !ok || n < 2 {
		h.rep.set("rss_per_program", per, "kB", "—", t.Name, na("no fleet figure"))
		return
	}
	h.rep.set("rss_per_program", per, "kB", "—", t.Name, value(float64(kbN-kb1)/float64(n-1), "kB"))
}

// rssOne starts t's daemon with one program (the fleet's command and
// options) and returns its VmRSS once that program is RUNNING.
func (h *harness) rssOne(ctx context.Context, t *target) (int64, *cell, error) {
	dir, err := h.newDir(t.Name + "-rss1")
	if err != nil {
		return 0, nil, err
	}
	conf, err := benchConfig(dir, manyPrograms(1, h.sleep+" 100000", "startsecs=1"))
	if err != nil {
		return 0, nil, err
	}
	d, err := startDaemon(t, dir, conf)
	if err != nil {
		return 0, nil, err
	}
	defer d.Stop(stopGrace)
	if _, err := waitStartup(ctx, d, 1); err != nil {
		return 0, nil, err
	}
	kb, err := rssKB(d.Pid)
	if err != nil {
		return 0, nil, err
	}
	c := value(float64(kb)/1024, "MB")
	c.Detail = rssBreakdown(d.Pid)
	return kb, c, nil
}
