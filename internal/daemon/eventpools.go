package daemon

import (
	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/events"
	"github.com/drover-sh/drover/internal/logfile"
	"github.com/drover-sh/drover/internal/supervisor"
)

// startEvents runs an event dispatcher for sup (one per supervisor: a
// reload builds both afresh) and returns the function that stops it once
// sup's Run has returned.
func (d *daemon) startEvents(sup *supervisor.Supervisor, sd config.Supervisord) func() {
	ev := events.New(events.Options{Identifier: sd.Identifier, Log: d.log, Write: d.host.writeStdin})
	d.host.mu.Lock()
	d.host.events = ev
	d.host.mu.Unlock()
	go ev.Run()
	sup.Observe(ev.Observe)
	return func() {
		sup.Observe(nil)
		ev.Close()
	}
}

// dispatcher returns the current event dispatcher (nil before the first).
func (h *osHost) dispatcher() *events.Dispatcher {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.events
}

// DrainPool implements supervisor.PoolDrainer: a listener pool is stopped
// at shutdown once it delivered what it buffered.
func (h *osHost) DrainPool(name string, done func()) {
	if ev := h.dispatcher(); ev != nil {
		ev.DrainPool(name, done)
		return
	}
	go done()
}

// eventHooks sets what one output pipe of process pid feeds to the event
// system: a listener's stdout is its protocol channel (and never
// captures, as in supervisord); *_events_enabled emits PROCESS_LOG_* per
// read; capture mode emits PROCESS_COMMUNICATION_* at each end token.
func (h *osHost) eventHooks(sink *logfile.Sink, p *config.Process, pid int, channel string, t config.LogTarget) {
	ev := h.dispatcher()
	if ev == nil {
		return
	}
	if p.EventListener && channel == "stdout" {
		sink.CaptureMaxBytes = 0
		addHook(sink, func(data []byte) { ev.Output(pid, data) })
	}
	if t.EventsEnabled {
		name, group := p.Name, p.Group
		addHook(sink, func(data []byte) {
			if ev.Wanted() {
				ev.Publish(events.Log(name, group, pid, channel, data))
			}
		})
	}
	if sink.CaptureMaxBytes > 0 {
		name, group := p.Name, p.Group
		sink.OnCapture = func(data []byte) {
			if ev.Wanted() {
				ev.Publish(events.Communication(name, group, pid, channel, data))
			}
		}
	}
}

// addHook chains fn after the sink's OnLog.
func addHook(sink *logfile.Sink, fn func([]byte)) {
	if prev := sink.OnLog; prev != nil {
		sink.OnLog = func(data []byte) { prev(data); fn(data) }
		return
	}
	sink.OnLog = fn
}
