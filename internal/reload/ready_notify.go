package reload

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/drover-sh/drover/internal/spawn"

	"golang.org/x/sys/unix"
)

// maxPending bounds the messages kept before the generation's pid is known.
const maxPending = 64

// NotifyState is what a generation announced through sd_notify(3).
type NotifyState struct {
	Ready     bool   // READY=1 seen and not followed by RELOADING=1/STOPPING=1
	Reloading bool   // RELOADING=1 seen and no READY=1 since
	Stopping  bool   // STOPPING=1 seen
	MainPID   int    // last MAINPID=, 0 if none
	Status    string // last STATUS=
	Errno     int    // last ERRNO=
	Accepted  int    // messages from the generation's process tree
	Refused   int    // messages from other processes, or from senders gone before they could be checked
}

// NotifySocket is one generation's NOTIFY_SOCKET: a unixgram socket in a
// private directory. It is event-driven (one goroutine blocked in
// recvmsg, no polling) and attributes each datagram with the kernel's
// SCM_CREDENTIALS: only messages from the generation's main process, its
// process group or its descendants count. The sender's ancestry is read
// from /proc when the datagram arrives, so messages sent before the
// daemon knows the pid are judged correctly once it does; a sender that
// exited before it could be checked (a short-lived helper) is refused,
// and counted in Refused. File descriptors sent with FDSTORE=1 are closed.
type NotifySocket struct {
	path string
	conn *net.UnixConn
	log  *slog.Logger
	done chan struct{}

	mu      sync.Mutex
	pid     int
	pending []notifyMsg
	state   NotifyState
	changed chan struct{} // closed and replaced on every state change
}

type notifyMsg struct {
	data  string
	pid   int
	pgid  int
	chain []int // pid, parent, grandparent, ... (empty: sender gone)
}

// ListenNotify creates a notify socket in dir (which must exist, and be
// searchable by the program's user; the socket file is 0666 because
// sending needs write permission, and credentials decide what counts).
func ListenNotify(dir string, log *slog.Logger) (*NotifySocket, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("notify socket directory %q is not absolute", dir)
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	p := filepath.Join(dir, "notify-"+hex.EncodeToString(rnd[:])+".sock")
	if len(p) > 107 {
		return nil, fmt.Errorf("notify socket path %q is longer than 107 bytes", p)
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p, Net: "unixgram"})
	if err != nil {
		return nil, err
	}
	n := &NotifySocket{path: p, conn: conn, log: log, done: make(chan struct{}), changed: make(chan struct{})}
	fail := func(err error) (*NotifySocket, error) {
		conn.Close()
		os.Remove(p)
		return nil, err
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		return fail(err)
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
	}); err != nil || serr != nil {
		return fail(fmt.Errorf("SO_PASSCRED: %w", errors.Join(err, serr)))
	}
	if err := os.Chmod(p, 0o666); err != nil {
		return fail(err)
	}
	go n.read()
	return n, nil
}

// Path is the socket's file name.
func (n *NotifySocket) Path() string { return n.path }

// Env is the NOTIFY_SOCKET entry for the generation's environment.
func (n *NotifySocket) Env() string { return "NOTIFY_SOCKET=" + n.path }

// Close stops the reader, closes the socket and removes its file. It is
// idempotent.
func (n *NotifySocket) Close() error {
	err := n.conn.Close()
	<-n.done
	if rerr := os.Remove(n.path); rerr != nil && !os.IsNotExist(rerr) && err == nil {
		err = rerr
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (n *NotifySocket) read() {
	defer close(n.done)
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred)+unix.CmsgSpace(4*253))
	for {
		nb, noob, _, _, err := n.conn.ReadMsgUnix(buf, oob)
		if err != nil {
			return // closed
		}
		m := notifyMsg{data: string(buf[:nb]), pid: -1}
		if cmsgs, err := unix.ParseSocketControlMessage(oob[:noob]); err == nil {
			for _, c := range cmsgs {
				if cred, err := unix.ParseUnixCredentials(&c); err == nil {
					m.pid = int(cred.Pid)
				}
				if fds, err := unix.ParseUnixRights(&c); err == nil {
					for _, fd := range fds {
						unix.Close(fd) // FDSTORE is not supported
					}
				}
			}
		}
		if m.pid > 0 {
			m.chain, m.pgid = lineage(m.pid)
		}
		n.mu.Lock()
		if n.pid == 0 {
			if len(n.pending) < maxPending {
				n.pending = append(n.pending, m)
			} else {
				n.state.Refused++
			}
		} else {
			n.apply(m)
		}
		n.mu.Unlock()
	}
}

// lineage reads pid's ancestors and process group from /proc.
func lineage(pid int) (chain []int, pgid int) {
	for p := pid; p > 1 && len(chain) < 64; {
		st, err := spawn.ReadProcStat(p)
		if err != nil {
			break
		}
		if p == pid {
			pgid = st.PGid
		}
		chain = append(chain, p)
		p = st.PPid
	}
	return chain, pgid
}

// apply judges and applies one message; n.mu is held.
func (n *NotifySocket) apply(m notifyMsg) {
	ok := m.pgid == n.pid
	for _, p := range m.chain {
		ok = ok || p == n.pid
	}
	if !ok {
		n.state.Refused++
		if len(m.chain) == 0 {
			n.log.Debug("sd_notify message refused: sender exited before it could be checked", "pid", m.pid)
		} else {
			n.log.Debug("sd_notify message refused: sender outside the generation", "pid", m.pid, "generation_pid", n.pid)
		}
		return
	}
	n.state.Accepted++
	for _, line := range strings.Split(m.data, "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "READY":
			if v == "1" {
				n.state.Ready, n.state.Reloading = true, false
			}
		case "RELOADING":
			if v == "1" {
				n.state.Ready, n.state.Reloading = false, true
			}
		case "STOPPING":
			if v == "1" {
				n.state.Ready, n.state.Stopping = false, true
			}
		case "MAINPID":
			if p, err := strconv.Atoi(v); err == nil && p > 0 {
				n.state.MainPID = p
			}
		case "STATUS":
			n.state.Status = v
		case "ERRNO":
			if e, err := strconv.Atoi(v); err == nil {
				n.state.Errno = e
			}
		}
	}
	close(n.changed)
	n.changed = make(chan struct{})
}

// bind sets the generation's pid (once) and judges the pending messages.
func (n *NotifySocket) bind(pid int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.pid != 0 || pid <= 0 {
		return
	}
	n.pid = pid
	for _, m := range n.pending {
		n.apply(m)
	}
	n.pending = nil
}

// State returns what the generation announced so far.
func (n *NotifySocket) State() NotifyState {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.state
}

// Reset forgets READY=1, so the next Wait needs a fresh one: call it before
// asking a server to reload in place (puma USR1/USR2 sends RELOADING=1 and
// then READY=1 again).
func (n *NotifySocket) Reset() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.state.Ready = false
}

// Wait implements Probe: the first call binds the socket to g.Pid. It
// returns nil once READY=1 stands, ErrStopping after STOPPING=1.
func (n *NotifySocket) Wait(ctx context.Context, g Gen) error {
	n.bind(g.Pid)
	for {
		n.mu.Lock()
		st, ch := n.state, n.changed
		n.mu.Unlock()
		switch {
		case st.Ready:
			return nil
		case st.Stopping:
			return fmt.Errorf("%w: STOPPING=1 before READY=1 (status %q)", ErrStopping, st.Status)
		}
		select {
		case <-ch:
		case <-g.Exited:
			if n.State().Ready {
				return nil
			}
			return notReady(ctx, g, nil)
		case <-ctx.Done():
			if st.Status != "" {
				return notReady(ctx, g, fmt.Errorf("last STATUS=%s", st.Status))
			}
			return notReady(ctx, g, nil)
		}
	}
}
