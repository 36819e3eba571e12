package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/supervisor"
	"golang.org/x/sys/unix"
)

// systemd's notify protocol (sd_notify(3)), spoken without libsystemd:
// one datagram per message on the unixgram socket NOTIFY_SOCKET names.
// READY=1 once a supervisor's start pass has run and every process it made
// STARTING has left that state; RELOADING=1 (with MONOTONIC_USEC) while an HUP, update or
// restart is applied, READY=1 after; STOPPING=1 at shutdown; STATUS= with
// the counts whenever they change. State words are queued in order; STATUS
// is coalesced (only the latest is sent).

// sdEnv are the variables systemd sets for drover alone: children never
// see them (a program that wants a notify socket gets its own from
// ready=notify).
var sdEnv = []string{"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"}

// childEnviron is the daemon's environ without sdEnv.
func childEnviron(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(sdEnv, k) {
			out = append(out, kv)
		}
	}
	return out
}

// sdNotifier tells systemd the daemon's state. Its methods are safe to call
// from any goroutine and never block on the socket; a nil *sdNotifier (no
// NOTIFY_SOCKET) does nothing.
type sdNotifier struct {
	conn *net.UnixConn
	log  *slog.Logger

	mu         sync.Mutex
	states     map[string]supervisor.State // "group:name" → state
	pending    map[string]bool             // processes the start pass made STARTING, until they leave it
	passDone   bool                        // the start pass has run (every autostart process was started)
	reloads    int                         // HUP or update applications in flight
	restarting bool                        // a restart's stop and start pass
	stopping   bool
	stopSent   bool
	ready      bool     // systemd was last told READY=1
	queue      []string // state messages not yet sent, in order
	sentStatus string

	kick chan struct{} // capacity 1: something to send
	stop chan struct{}
	wg   sync.WaitGroup // the sender and the watchdog
}

// newSDNotifier connects to NOTIFY_SOCKET; nil without one. A socket that
// cannot be reached is logged and ignored (systemd then times the start out,
// which says more than a failed start would).
func newSDNotifier(log *slog.Logger) *sdNotifier {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	if strings.HasPrefix(path, "@") { // abstract namespace
		path = "\x00" + path[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		log.Warn(fmt.Sprintf("could not reach NOTIFY_SOCKET: %v", err))
		return nil
	}
	n := &sdNotifier{conn: conn, log: log, states: map[string]supervisor.State{}, pending: map[string]bool{},
		kick: make(chan struct{}, 1), stop: make(chan struct{})}
	n.wg.Add(1)
	go n.send()
	return n
}

// watchdogInterval is half of WATCHDOG_USEC when systemd asks this process
// for keep-alives (WATCHDOG_PID unset or ours), else 0.
func watchdogInterval() time.Duration {
	usec, err := strconv.ParseUint(os.Getenv("WATCHDOG_USEC"), 10, 63)
	if err != nil || usec == 0 {
		return 0
	}
	if p := os.Getenv("WATCHDOG_PID"); p != "" && p != strconv.Itoa(os.Getpid()) {
		return 0
	}
	return time.Duration(usec) * time.Microsecond / 2
}

// watchdog sends WATCHDOG=1 every interval while the supervisor's core
// answers: a wedged core stops the keep-alives and systemd acts on it. The
// timer exists only because systemd asked for it.
func (n *sdNotifier) watchdog(interval time.Duration, sup func() *supervisor.Supervisor) {
	if n == nil || interval <= 0 {
		return
	}
	n.wg.Add(1)
	go n.keepAlive(interval, sup)
}

func (n *sdNotifier) keepAlive(interval time.Duration, sup func() *supervisor.Supervisor) {
	defer n.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		if s := sup(); s != nil {
			ctx, cancel := context.WithTimeout(context.Background(), interval)
			_, err := s.State(ctx)
			cancel()
			if ctx.Err() != nil && err != nil {
				continue // the core did not answer in time
			}
		}
		n.write("WATCHDOG=1")
	}
}

// startPass begins a supervisor's life on cfg: not ready until the pass
// has run (passRan) and each process it made STARTING has left that state.
// A process that never enters STARTING (re-adopted, waiting for another,
// failing before it) does not hold READY=1 back.
func (n *sdNotifier) startPass(cfg *config.Config) {
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.states)
	clear(n.pending)
	n.passDone, n.restarting = false, false
	for _, g := range cfg.Groups {
		for _, p := range g.Processes {
			n.states[g.Name+":"+p.Name] = supervisor.Stopped
		}
	}
	n.changed()
}

// passRan says the supervisor's start pass is over: its Run answered a
// call, which it does only after it started every autostart process.
func (n *sdNotifier) passRan() {
	if n == nil {
		return
	}
	n.mu.Lock()
	n.passDone = true
	n.changed()
	n.mu.Unlock()
}

// observe follows the supervisor's events (on its owner goroutine: it
// must not block, and does not).
func (n *sdNotifier) observe(e supervisor.Event) {
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	switch e.Kind {
	case supervisor.EventProcessState:
		key := e.Group + ":" + e.Name
		n.states[key] = e.To
		switch {
		case e.To == supervisor.Starting && !n.passDone:
			n.pending[key] = true
		case e.From == supervisor.Starting:
			delete(n.pending, key)
		}
	case supervisor.EventGroupRemoved:
		for key := range n.states {
			if strings.HasPrefix(key, e.Group+":") {
				delete(n.states, key)
				delete(n.pending, key)
			}
		}
	case supervisor.EventSupervisorState:
		switch e.Supervisor {
		case supervisor.StateRestarting:
			n.restarting = true
		case supervisor.StateShutdown:
			n.stopping = true
		}
	default:
		return
	}
	n.changed()
}

// reloading brackets an HUP's or update's application: call the returned
// function when it is done.
func (n *sdNotifier) reloading() func() {
	if n == nil {
		return func() {}
	}
	n.mu.Lock()
	n.reloads++
	n.changed()
	n.mu.Unlock()
	return sync.OnceFunc(func() {
		n.mu.Lock()
		n.reloads--
		n.changed()
		n.mu.Unlock()
	})
}

// shutdown says STOPPING=1 (once) whatever the supervisor's state.
func (n *sdNotifier) shutdown() {
	if n == nil {
		return
	}
	n.mu.Lock()
	n.stopping = true
	n.changed()
	n.mu.Unlock()
}

// changed queues the state word the new state calls for and wakes the
// sender (n.mu held).
func (n *sdNotifier) changed() {
	busy := n.reloads > 0 || n.restarting || !n.passDone || len(n.pending) > 0
	switch {
	case n.stopping:
		if !n.stopSent {
			n.queue = append(n.queue, "STOPPING=1")
			n.stopSent, n.ready = true, false
		}
	case busy && n.ready:
		n.queue = append(n.queue, "RELOADING=1\nMONOTONIC_USEC="+strconv.FormatInt(monotonicUsec(), 10))
		n.ready = false
	case !busy && !n.ready:
		n.queue = append(n.queue, "READY=1")
		n.ready = true
	}
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// status is the STATUS= text for the current counts (n.mu held).
func (n *sdNotifier) status() string {
	var running, fatal int
	for _, s := range n.states {
		switch s {
		case supervisor.Running:
			running++
		case supervisor.Fatal:
			fatal++
		}
	}
	return fmt.Sprintf("%d running, %d fatal (%d processes)", running, fatal, len(n.states))
}

// send writes what changed, until close: the queued state words in order,
// then the latest STATUS if it differs from the last one sent.
func (n *sdNotifier) send() {
	defer n.wg.Done()
	for {
		select {
		case <-n.kick:
		case <-n.stop:
			n.flush()
			return
		}
		n.flush()
	}
}

func (n *sdNotifier) flush() {
	n.mu.Lock()
	q := n.queue
	n.queue = nil
	st := n.status()
	if st == n.sentStatus {
		st = ""
	} else {
		n.sentStatus = st
	}
	n.mu.Unlock()
	for _, m := range q {
		n.write(m)
	}
	if st != "" {
		n.write("STATUS=" + st)
	}
}

func (n *sdNotifier) write(msg string) {
	if _, err := n.conn.Write([]byte(msg)); err != nil {
		n.log.Debug(fmt.Sprintf("NOTIFY_SOCKET: %v", err))
	}
}

// close sends what is queued (STOPPING=1 at the end) and closes the socket.
func (n *sdNotifier) close() {
	if n == nil {
		return
	}
	close(n.stop)
	n.wg.Wait()
	n.conn.Close()
}

// monotonicUsec is CLOCK_MONOTONIC in microseconds, which systemd wants
// with RELOADING=1 to tell one reload from the next.
func monotonicUsec() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return ts.Nano() / 1000
}
