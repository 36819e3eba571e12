package daemon

import (
	"context"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/supervisor"
)

var _ supervisor.ReloadPreparer = (*osHost)(nil)

// PrepareReload implements supervisor.ReloadPreparer: before an in-place
// reload signal, generation pid's sd_notify state forgets READY=1, so the
// reload's WaitReady waits for the READY=1 that follows the reload. Other
// probes (http, tcp, log, uptime) cannot tell before from after in place;
// they answer at once.
func (h *osHost) PrepareReload(_ *config.Process, pid int) {
	h.mu.Lock()
	lp := h.probes[pid]
	h.mu.Unlock()
	if lp == nil {
		return
	}
	if n := lp.probe.Notify(); n != nil {
		// A Wait binds the socket to the generation and judges the
		// messages held until then (READY=1 from the start, when nobody
		// waited at startup); with a done context it returns at once.
		done, cancel := context.WithCancel(context.Background())
		cancel()
		_ = n.Wait(done, lp.gen)
		n.Reset()
	}
}
