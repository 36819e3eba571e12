package spawn

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Exit is one reaped child.
type Exit struct {
	Pid    int
	Status unix.WaitStatus
	Rusage unix.Rusage
}

// Reaper is the daemon's single reaper: one goroutine that blocks on
// SIGCHLD and, for every signal, calls wait4(-1, WNOHANG) until no exited
// child is left, delivering each exit in reaping order. Because the wait
// loop drains, coalesced SIGCHLDs lose nothing. It never polls: an idle
// daemon makes no wake-ups.
//
// It reaps every child of the process, including orphans re-parented by
// BecomeSubreaper: the owner routes by pid and logs unknown ones. Nothing
// else in the process may wait for children while a Reaper runs (no
// os/exec Cmd.Wait, no os.Process.Wait): they would steal exits or get
// ECHILD.
type Reaper struct {
	sig   chan os.Signal
	stop  chan struct{}
	exits chan Exit
	once  sync.Once
}

// NewReaper starts reaping and sends every exit on Exits, whose buffer
// holds buffer exits; a send blocks until the owner receives (exited
// children meanwhile stay zombies, so nothing is lost). Children that
// exited before NewReaper are reaped at once.
func NewReaper(buffer int) *Reaper {
	r := &Reaper{
		sig:   make(chan os.Signal, 1),
		stop:  make(chan struct{}),
		exits: make(chan Exit, buffer),
	}
	signal.Notify(r.sig, syscall.SIGCHLD)
	go r.run(r.exits)
	return r
}

// Exits delivers every reaped child, in reaping order. It is closed once
// the reaper stopped, so a loop ranging over it ends.
func (r *Reaper) Exits() <-chan Exit { return r.exits }

// Stop ends the reaper goroutine and returns once it has and Exits is
// closed. An exit being delivered when Stop is called is dropped; later
// exits stay zombies until someone waits. Stop may be called more than
// once.
func (r *Reaper) Stop() {
	r.once.Do(func() {
		signal.Stop(r.sig)
		close(r.stop)
	})
	for range r.exits { // until run closes it; drops what was buffered
	}
}

func (r *Reaper) run(out chan<- Exit) {
	defer close(out)
	for {
		if !r.drain(out) {
			return
		}
		select {
		case <-r.sig:
		case <-r.stop:
			return
		}
	}
}

// drain reaps until wait4 reports nothing more; false means stopped.
func (r *Reaper) drain(out chan<- Exit) bool {
	for {
		var e Exit
		pid, err := unix.Wait4(-1, &e.Status, unix.WNOHANG, &e.Rusage)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil || pid <= 0: // ECHILD: no children; 0: none exited
			return true
		}
		e.Pid = pid
		// A reaped exit is always delivered (Stop drains Exits meanwhile,
		// Halt's caller reads them): its status exists nowhere else.
		out <- e
		select {
		case <-r.stop:
			return false
		default:
		}
	}
}

// Halt stops reaping without dropping anything: exits reaped so far stay
// in Exits, which is closed once the goroutine ended, so a consumer ranging
// over it sees every one; children that exit later stay zombies for the
// next reaper (after an in-place upgrade, the new image's). The caller
// must keep consuming Exits until it is closed.
func (r *Reaper) Halt() {
	r.once.Do(func() {
		signal.Stop(r.sig)
		close(r.stop)
	})
}

// Describe decodes the exit as supervisord's decode_wait_status does: the
// exit code, or -1 for a death by signal (never an "expected" exit code),
// and the message it logs, e.g. "exit status 1" or "terminated by SIGKILL
// (core dumped)".
func (e Exit) Describe() (code int, msg string) {
	ws := e.Status
	switch {
	case ws.Exited():
		return ws.ExitStatus(), "exit status " + strconv.Itoa(ws.ExitStatus())
	case ws.Signaled():
		name := unix.SignalName(ws.Signal())
		if name == "" {
			name = "signal " + strconv.Itoa(int(ws.Signal()))
		}
		msg = "terminated by " + name
		if ws.CoreDump() {
			msg += " (core dumped)"
		}
		return -1, msg
	}
	return -1, fmt.Sprintf("unknown termination cause 0x%04x", uint32(ws))
}
