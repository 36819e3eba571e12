package daemon

import (
	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/events"
	"github.com/drover-sh/drover/internal/logfile"
)

// eventHooks sets what one output pipe of process pid feeds to the event
// system: a listener's stdout is its protocol channel (and never
// captures, as in supervisord); *_events_enabled emits PROCESS_LOG_* per
// read; capture mode emits PROCESS_COMMUNICATION_* at each end token.
func (h *host) eventHooks(sink *logfile.Sink, p *config.Process, pid int, channel string, t config.LogTarget) {
	ev := h.ev
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
