package daemon

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// signalHandler turns the daemon's signals into requests, as supervisord:
// TERM, INT and QUIT shut down in order; HUP applies config changes (like
// `update`, a documented difference from supervisord's full restart); USR2
// reopens every log file.
type signalHandler struct {
	ch   chan os.Signal
	done chan struct{}
}

func (d *daemon) handleSignals() *signalHandler {
	h := &signalHandler{ch: make(chan os.Signal, 8), done: make(chan struct{})}
	signal.Notify(h.ch, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP, syscall.SIGUSR2)
	// Children must not die of a SIGPIPE the daemon ignores: Go resets
	// dispositions in the shim, so ignoring here is only for the daemon.
	go func() {
		defer close(h.done)
		for sig := range h.ch {
			d.onSignal(sig.(syscall.Signal))
		}
	}()
	return h
}

func (h *signalHandler) stop() {
	signal.Stop(h.ch)
	close(h.ch)
	<-h.done
}

func (d *daemon) onSignal(sig syscall.Signal) {
	switch sig {
	case syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT:
		d.log.Warn(fmt.Sprintf("received %s indicating exit request", sigName(sig)))
		d.tell(reqShutdown)
	case syscall.SIGHUP:
		d.log.Warn("received SIGHUP indicating update request")
		d.tell(reqHUP)
	case syscall.SIGUSR2:
		d.log.Info("received SIGUSR2 indicating log reopen request")
		if d.mainLog != nil {
			if err := d.mainLog.Reopen(); err != nil {
				d.log.Warn(fmt.Sprintf("could not reopen the main log: %v", err))
			}
		}
		d.host.files.Reopen()
	}
}

func sigName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	}
	return sig.String()
}
