package daemon

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The fd keeper survives a crash of the daemon (kill -9, OOM) for it: a
// tiny process (the drover binary's hidden subcommand KeeperArg), in its
// own session, that holds duplicates of every child's stdin write end and
// output read ends and of the programs' sockets, received over a unix
// SOCK_SEQPACKET socket with SCM_RIGHTS. It never reads a pipe: while the
// daemon is dead a chatty child blocks on its full pipe instead of dying
// of SIGPIPE, and nothing it wrote is lost. The next daemon asks for the
// fds back ("get") and takes the children over. Messages, one per packet:
//
//	keep KEY LABEL...   with one fd per label (KEY "pid:N" or "sock:GROUP:NAME")
//	drop KEY            close KEY's fds (the generation ended)
//	get                 answered by "item KEY LABEL..." packets with the fds, then "end"
//	exit                the daemon shut down cleanly

// KeeperArg is the keeper's hidden subcommand: `drover __fd-keeper SOCKET`.
const KeeperArg = "__fd-keeper"

// keeperBatch bounds the fds of one "item" packet (SCM_MAX_FD is 253).
const keeperBatch = 200

// KeeperMain runs the keeper on the socket path until told to exit.
func KeeperMain(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: " + KeeperArg + " SOCKET")
	}
	// A ^C or HUP of the terminal drover started from must not end it.
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP, syscall.SIGPIPE)
	// Three fds per program: a soft limit of 1024 would cut it at ~340.
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil && rl.Cur < rl.Max {
		rl.Cur = rl.Max
		_ = unix.Setrlimit(unix.RLIMIT_NOFILE, &rl)
	}
	return runKeeper(args[0], func() { os.Stdout.Close() }) // tells startKeeper it listens
}

// runKeeper listens on path, calls ready, and serves one daemon after
// another until one says "exit".
func runKeeper(path string, ready func()) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	_ = os.Remove(path)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		return err
	}
	_ = os.Chmod(path, 0o600)
	if err := unix.Listen(fd, 8); err != nil {
		return err
	}
	ready()
	k := &keeper{held: map[string]heldFDs{}}
	for orphaned := false; ; orphaned = true {
		c, err := k.accept(fd, orphaned)
		if err != nil {
			return err
		}
		if c < 0 || k.serve(c) {
			_ = os.Remove(path)
			return nil
		}
	}
}

// accept waits for a daemon to connect. Meanwhile (orphaned: a daemon was
// connected and went away) it forgets each process whose output pipe lost
// its last writer (the process and its children are gone: nothing to take
// over), and when no process is left it returns -1: the keeper's work is
// done (the sockets it held close with it, not bound for ever by nobody).
func (k *keeper) accept(lfd int, orphaned bool) (int, error) {
	for {
		if orphaned && !k.hasProcesses() {
			return -1, nil
		}
		pfds := []unix.PollFd{{Fd: int32(lfd), Events: unix.POLLIN}}
		var keys []string
		if orphaned {
			for key, h := range k.held {
				for i, l := range h.labels {
					if l == "1" { // the stdout read end: POLLHUP once no writer is left
						pfds = append(pfds, unix.PollFd{Fd: int32(h.fds[i])})
						keys = append(keys, key)
					}
				}
			}
		}
		if _, err := unix.Poll(pfds, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return -1, err
		}
		for i, pf := range pfds[1:] {
			if pf.Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
				closeFDs(k.held[keys[i]].fds...)
				delete(k.held, keys[i])
			}
		}
		if pfds[0].Revents&unix.POLLIN == 0 {
			continue
		}
		c, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
		if err != nil {
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.ECONNABORTED) || errors.Is(err, unix.EAGAIN) {
				continue
			}
			return -1, err
		}
		return c, nil
	}
}

type heldFDs struct {
	labels []string
	fds    []int
}

type keeper struct {
	held map[string]heldFDs
}

func (k *keeper) hasProcesses() bool {
	for key := range k.held {
		if strings.HasPrefix(key, "pid:") {
			return true
		}
	}
	return false
}

// serve reads one daemon's messages until it disconnects; true on "exit".
func (k *keeper) serve(c int) bool {
	defer unix.Close(c)
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(keeperBatch*4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(c, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return false
		}
		if n == 0 {
			return false // the daemon went away (crashed, or exec'd): keep everything
		}
		fds := parseRights(oob[:oobn])
		f := strings.Fields(string(buf[:n]))
		if len(f) == 0 {
			closeFDs(fds...)
			continue
		}
		switch {
		case f[0] == "keep" && len(f) >= 2 && len(f)-2 == len(fds):
			if old, ok := k.held[f[1]]; ok {
				closeFDs(old.fds...)
			}
			k.held[f[1]] = heldFDs{labels: f[2:], fds: fds}
		case f[0] == "drop" && len(f) == 2:
			closeFDs(fds...)
			if old, ok := k.held[f[1]]; ok {
				closeFDs(old.fds...)
				delete(k.held, f[1])
			}
		case f[0] == "get":
			closeFDs(fds...)
			for key, h := range k.held {
				msg := "item " + key + " " + strings.Join(h.labels, " ")
				if len(h.fds) > keeperBatch {
					continue
				}
				_ = unix.Sendmsg(c, []byte(msg), unix.UnixRights(h.fds...), nil, 0)
			}
			_ = unix.Sendmsg(c, []byte("end"), nil, nil, 0)
		case f[0] == "exit":
			closeFDs(fds...)
			for _, h := range k.held {
				closeFDs(h.fds...)
			}
			return true
		default:
			closeFDs(fds...)
		}
	}
}

func parseRights(oob []byte) []int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var out []int
	for _, m := range msgs {
		if fds, err := unix.ParseUnixRights(&m); err == nil {
			out = append(out, fds...)
		}
	}
	return out
}

// keeperConn is the daemon's end: one connection, messages sent in order
// by a sender goroutine that runs while some are queued, so neither an
// exit (its drop) nor a spawn (its keep) waits for the keeper: a keep
// queues duplicates of the fds (the originals may close meanwhile). The
// state writer flushes the queue before it records pids, so a pid in the
// state file always has its pipes at the keeper. A keeper that went away
// is reported once and then ignored: the daemon runs on, it only loses
// crash survival.
type keeperConn struct {
	mu   sync.Mutex
	fd   int
	log  *slog.Logger
	dead bool

	queue        []keeperMsg
	sending      bool       // the sender goroutine runs
	queued, sent uint64     // messages so far, for flush
	sentCond     *sync.Cond // on mu: sent grew, or sending ended
}

// keeperMsg is one queued packet; fds are the daemon's own duplicates,
// closed once sent.
type keeperMsg struct {
	msg string
	fds []int
}

func newKeeperConn(fd int, log *slog.Logger) *keeperConn {
	k := &keeperConn{fd: fd, log: log}
	k.sentCond = sync.NewCond(&k.mu)
	return k
}

// dialKeeper connects to a live keeper at path.
func dialKeeper(path string, log *slog.Logger) (*keeperConn, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	// A keeper that stopped reading must not hold the sender for ever:
	// after this long a send fails and the keeper is given up.
	tv := unix.NsecToTimeval(time.Second.Nanoseconds())
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	return newKeeperConn(fd, log), nil
}

// startKeeper starts a keeper on path (own session, no terminal) and
// connects to it; the keeper binds before it accepts, so the dial is
// retried over its first moments, bounded.
func startKeeper(path string, log *slog.Logger) (*keeperConn, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	p, err := os.StartProcess(exe, []string{exe, KeeperArg, path}, &os.ProcAttr{
		Files: []*os.File{devnull, w, devnull},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	})
	w.Close()
	if err != nil {
		return nil, err
	}
	_ = p.Release() // the reaper reaps it if it ever exits while drover runs
	_ = r.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [1]byte
	_, _ = r.Read(b[:]) // EOF once it listens (it closes stdout) or died
	return dialKeeper(path, log)
}

// send queues msg with duplicates of fds and starts the sender; it never
// waits for the keeper.
func (k *keeperConn) send(msg string, fds ...int) { k.queue1(msg, true, fds...) }

// sendLater queues msg for the next send or flush: a drop, which nothing
// waits for, so an exit wakes no sender thread while its respawn runs.
// (The state writer flushes within stateWriteGap of the exit.)
func (k *keeperConn) sendLater(msg string) { k.queue1(msg, false) }

func (k *keeperConn) queue1(msg string, start bool, fds ...int) {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.dead {
		return
	}
	m := keeperMsg{msg: msg}
	for _, fd := range fds {
		d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			// Out of descriptors: send the originals here, after
			// what is queued, instead of losing them.
			closeFDs(m.fds...)
			k.sendNow(msg, fds)
			return
		}
		m.fds = append(m.fds, d)
	}
	k.queue = append(k.queue, m)
	k.queued++
	if start {
		k.startSender()
	}
}

// sendNow sends msg with fds (not duplicated) once the queue is sent
// (k.mu held): the caller's fds stay open meanwhile.
func (k *keeperConn) sendNow(msg string, fds []int) {
	k.drain()
	if k.dead {
		return
	}
	if err := unix.Sendmsg(k.fd, []byte(msg), unix.UnixRights(fds...), nil, 0); err != nil {
		k.giveUp(err)
	}
}

// startSender starts the sender goroutine unless it runs or nothing is
// queued (k.mu held).
func (k *keeperConn) startSender() {
	if !k.sending && len(k.queue) > 0 {
		k.sending = true
		go k.sender()
	}
}

// sender sends the queue in order until it is empty, then ends.
func (k *keeperConn) sender() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for len(k.queue) > 0 {
		batch := k.queue
		k.queue = nil
		dead := k.dead
		k.mu.Unlock()
		var err error
		for _, m := range batch {
			if !dead && err == nil {
				var oob []byte
				if len(m.fds) > 0 {
					oob = unix.UnixRights(m.fds...)
				}
				err = unix.Sendmsg(k.fd, []byte(m.msg), oob, nil, 0)
			}
			closeFDs(m.fds...)
		}
		k.mu.Lock()
		if err != nil {
			k.giveUp(err)
		}
		k.sent += uint64(len(batch))
		k.sentCond.Broadcast()
	}
	k.sending = false
	k.sentCond.Broadcast()
}

// giveUp marks the keeper gone (k.mu held) and says so once.
func (k *keeperConn) giveUp(err error) {
	if k.dead {
		return
	}
	k.dead = true
	for _, m := range k.queue {
		closeFDs(m.fds...)
	}
	k.sent += uint64(len(k.queue))
	k.queue = nil
	k.log.Warn(fmt.Sprintf("the fd keeper is gone (%v): programs will not survive a crash of drover", err))
}

// flush waits until every message queued before it was sent (or the
// keeper was given up).
func (k *keeperConn) flush() {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.startSender()
	for n := k.queued; k.sent < n; {
		k.sentCond.Wait()
	}
}

// drain sends everything queued and waits (k.mu held) until the sender
// stopped, so that the caller may use the connection itself.
func (k *keeperConn) drain() {
	k.startSender()
	for k.sending {
		k.sentCond.Wait()
	}
}

// keep hands the keeper duplicates of fds under key (labels name them).
func (k *keeperConn) keep(key string, labels []string, fds []int) {
	k.send("keep "+key+" "+strings.Join(labels, " "), fds...)
}

func (k *keeperConn) drop(key string) { k.sendLater("drop " + key) }

// exit ends the keeper (clean shutdown: nothing to survive).
func (k *keeperConn) exit() {
	k.send("exit")
	k.close()
}

func (k *keeperConn) close() {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.drain() // everything queued is sent first
	if !k.dead {
		unix.Close(k.fd)
		k.dead = true
	}
}

// keptItem is one key's fds as the keeper gave them back.
type keptItem struct {
	labels []string
	fds    []int
}

// getAll asks the keeper for everything it holds.
func (k *keeperConn) getAll() (map[string]keptItem, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.drain()
	if err := unix.Sendmsg(k.fd, []byte("get"), nil, nil, 0); err != nil {
		return nil, err
	}
	out := map[string]keptItem{}
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(keeperBatch*4))
	tv := unix.NsecToTimeval((10 * time.Second).Nanoseconds())
	_ = unix.SetsockoptTimeval(k.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	for {
		n, oobn, _, _, err := unix.Recvmsg(k.fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return out, err
		}
		f := strings.Fields(string(buf[:n]))
		fds := parseRights(oob[:oobn])
		if len(f) == 1 && f[0] == "end" {
			return out, nil
		}
		if len(f) < 2 || f[0] != "item" || len(f)-2 != len(fds) {
			closeFDs(fds...)
			continue
		}
		out[f[1]] = keptItem{labels: f[2:], fds: fds}
	}
}

func keeperKey(pid int) string { return "pid:" + strconv.Itoa(pid) }

// keep hands the keeper duplicates of a new child's pipe ends.
func (h *host) keep(c *child, p *childPipes) {
	if h.keeper == nil {
		return
	}
	c.keeper = h.keeper
	labels, fds := []string{"1"}, []int{p.stdout}
	if fd, err := rawFD(p.stdin); err == nil {
		labels, fds = append(labels, "0"), append(fds, fd)
	}
	if p.stderr >= 0 {
		labels, fds = append(labels, "2"), append(fds, p.stderr)
	}
	h.keeper.keep(keeperKey(c.pid), labels, fds)
}
