package main

import (
	"context"
	"fmt"
	"math"
	"time"

	"golang.org/x/sys/unix"
)

const (
	soakWarmTimeout = 60 * time.Second
	soakStopTimeout = 60 * time.Second
	zombieRecheck   = time.Second
)

// soak runs h.opt.SoakPrograms programs whose children live
// h.opt.SoakLife and exit 0 (autorestart=true, startsecs=0), for
// h.opt.SoakDuration. It samples the daemon's RSS at start, every
// h.opt.SoakSample and at the end; counts zombies of the daemon that
// survive a second scan; then shuts the daemon down (SIGTERM) and checks
// that every start the children reported has an "exited:" or "stopped:"
// line in the main log.
func (h *harness) soak(ctx context.Context, t *target) {
	p := h.opt.SoakPrograms
	rows := map[string][3]string{
		"soak_rate":        {fmt.Sprintf("soak: child starts/s (%d programs, %v lives, %v)", p, h.opt.SoakLife, h.opt.SoakDuration), "/s", "—"},
		"soak_rss":         {"soak: RSS drift, max deviation from the start sample", "%", goalSoakRSS},
		"soak_rss_late":    {"soak: RSS growth over the second half (warm-up excluded)", "%", goalSoakRSS},
		"soak_rss_end":     {"soak: RSS at end", "MB", "—"},
		"soak_zombies":     {"soak: zombies of the daemon at end (in 2 scans 1 s apart)", "count", "0"},
		"soak_unaccounted": {"soak: starts without an exited:/stopped: line", "count", "0"},
	}
	order := []string{"soak_rate", "soak_rss", "soak_rss_late", "soak_rss_end", "soak_zombies", "soak_unaccounted"}
	set := func(id string, c *cell) {
		r := rows[id]
		h.rep.set(id, r[0], r[1], r[2], t.Name, c)
	}
	failAll := func(reason string) {
		for _, id := range order {
			set(id, na(reason))
		}
	}
	// Create the rows in a fixed order even if a later step fails.
	for _, id := range order {
		set(id, na("not reached"))
	}

	dir, n, err := h.newRun(t.Name + "-soak")
	if err != nil {
		failAll(shortErr(err))
		return
	}
	defer n.Close()
	cmd := fmt.Sprintf("%s blip %s %s", h.self, n.Path, h.opt.SoakLife)
	conf, err := benchConfig(dir, manyPrograms(p, cmd, "autorestart=true", "startsecs=0"))
	if err != nil {
		failAll(shortErr(err))
		return
	}
	d, err := startDaemon(t, dir, conf)
	if err != nil {
		failAll(shortErr(err))
		return
	}
	defer d.Stop(stopGrace)

	// Warm: every program has had a chance to start once.
	for n.Count() < int64(p) {
		if _, err := waitNote(ctx, n, d.Exited(), soakWarmTimeout, func(note) bool { return true }); err != nil {
			failAll(d.Why(fmt.Errorf("%d of %d started: %w", n.Count(), p, err)))
			return
		}
	}
	n0, t0 := n.Count(), mono()

	// RSS at fixed points: now, every SoakSample, and at the end.
	var samples []float64
	sample := func() error {
		kb, err := rssKB(d.Pid)
		if err != nil {
			return err
		}
		samples = append(samples, float64(kb)/1024)
		return nil
	}
	if err := sample(); err != nil {
		failAll(shortErr(err))
		return
	}
	end := time.NewTimer(h.opt.SoakDuration)
	defer end.Stop()
	tick := time.NewTicker(h.opt.SoakSample)
	defer tick.Stop()
	for running := true; running; {
		select {
		case <-tick.C:
		case <-end.C:
			running = false
		case <-d.Exited():
			failAll(d.Why(errDaemonExited))
			return
		case <-ctx.Done():
			failAll(shortErr(ctx.Err()))
			return
		}
		if err := sample(); err != nil {
			failAll(shortErr(err))
			return
		}
	}
	n1, t1 := n.Count(), mono()
	set("soak_rate", value(float64(n1-n0)/(float64(t1-t0)/1e9), "/s"))
	drift := 0.0
	for _, s := range samples {
		drift = math.Max(drift, math.Abs(s-samples[0])/samples[0]*100)
	}
	c := value(drift, "%")
	c.Samples = samples
	set("soak_rss", c)
	// A leak keeps growing; a heap warming up stops: compare the last
	// sample with the middle one.
	mid, last := samples[len(samples)/2], samples[len(samples)-1]
	set("soak_rss_late", value((last-mid)/mid*100, "%"))
	set("soak_rss_end", value(last, "MB"))

	// Zombies: a child not yet reaped is normal for an instant; one still
	// there (same pid and start time) a second later is a leak.
	z1 := zombiesOf(d.Pid)
	recheck := time.NewTimer(zombieRecheck)
	select {
	case <-recheck.C:
	case <-ctx.Done():
	}
	z2 := zombiesOf(d.Pid)
	stuck := 0
	for pid, st := range z2 {
		if st1, ok := z1[pid]; ok && st1.StartTicks == st.StartTicks {
			stuck++
		}
	}
	zc := value(float64(stuck), "count")
	zc.Detail = map[string]any{"first_scan": len(z1), "second_scan": len(z2)}
	set("soak_zombies", zc)

	// Orderly shutdown, then account for every start.
	_ = unix.Kill(d.Pid, unix.SIGTERM)
	stop := time.NewTimer(soakStopTimeout)
	defer stop.Stop()
	select {
	case <-d.Exited():
	case <-stop.C:
		set("soak_unaccounted", na(fmt.Sprintf("no exit within %v of SIGTERM", soakStopTimeout)))
		return
	case <-ctx.Done():
		set("soak_unaccounted", na(shortErr(ctx.Err())))
		return
	}
	reapOrphans() // children a crashed daemon left behind; their notes are already queued
	if err := n.Fence(10 * time.Second); err != nil {
		set("soak_unaccounted", na(shortErr(err)))
		return
	}
	d.Log.CatchUp()
	counts := d.Log.Counts()
	starts := n.Count()
	ends := int64(counts[kindExited] + counts[kindStopped])
	u := value(float64(max(0, starts-ends)), "count")
	u.Text = fmt.Sprintf("%d (%d starts; %d exited + %d stopped; %d spawned lines)",
		max(0, starts-ends), starts, counts[kindExited], counts[kindStopped], counts[kindSpawned])
	u.Detail = map[string]any{"starts_notified": starts, "exited_lines": counts[kindExited],
		"stopped_lines": counts[kindStopped], "spawned_lines": counts[kindSpawned]}
	set("soak_unaccounted", u)
}
