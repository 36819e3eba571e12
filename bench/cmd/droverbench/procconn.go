package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The kernel's proc connector (NETLINK_CONNECTOR, CN_IDX_PROC) reports
// every fork, exec and exit with a CLOCK_MONOTONIC stamp taken in the
// kernel (ktime_get_ns): when a respawned child's execve succeeded, as the
// respawn goal ("kill → new child exec'd") says, without the child's own
// runtime start-up before its notify. It needs CAP_NET_ADMIN and the
// initial network namespace; without them the exec rows say n/a and why.

const (
	cnIdxProc          = 1
	cnValProc          = 1
	procCnMcastListen  = 1
	procCnMcastIgnore  = 2
	procEventExec      = 0x00000002
	nlmsgHdrLen        = 16
	cnMsgLen           = 20 // idx, val, seq, ack (u32 each), len, flags (u16 each)
	procEventHeaderLen = 16 // what, cpu (u32 each), timestamp_ns (u64)
)

// execWatch records the kernel's exec events: per pid, the stamp of its
// last successful execve.
type execWatch struct {
	fd int      // for the (un)subscribe messages
	f  *os.File // fd in Go's netpoller: Close ends a blocked Read

	mu    sync.Mutex
	execs map[int]int64
	cond  *sync.Cond
	err   error // the read loop's end
	done  chan struct{}
}

// watchExecs subscribes to the proc connector.
func watchExecs() (*execWatch, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_CONNECTOR)
	if err != nil {
		return nil, fmt.Errorf("proc connector: socket: %w", err)
	}
	// A flood of forks and execs elsewhere must not drop ours.
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4<<20)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc, Pid: 0}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("proc connector: bind: %w", err)
	}
	if err := sendMcast(fd, procCnMcastListen); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("proc connector: %w", err)
	}
	w := &execWatch{fd: fd, f: os.NewFile(uintptr(fd), "proc connector"), execs: map[int]int64{}, done: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	go w.read()
	// Prove the subscription works before any row relies on it: the
	// kernel answers nothing to LISTEN, so wait for an exec of our own.
	if err := w.selfTest(); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

func sendMcast(fd int, op uint32) error {
	b := make([]byte, nlmsgHdrLen+cnMsgLen+4)
	binary.NativeEndian.PutUint32(b[0:], uint32(len(b)))
	binary.NativeEndian.PutUint16(b[4:], unix.NLMSG_DONE)
	binary.NativeEndian.PutUint32(b[12:], uint32(unix.Getpid()))
	cn := b[nlmsgHdrLen:]
	binary.NativeEndian.PutUint32(cn[0:], cnIdxProc)
	binary.NativeEndian.PutUint32(cn[4:], cnValProc)
	binary.NativeEndian.PutUint16(cn[16:], 4)
	binary.NativeEndian.PutUint32(cn[cnMsgLen:], op)
	if err := unix.Sendto(fd, b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("proc connector: subscribe: %w", err)
	}
	return nil
}

func (w *execWatch) read() {
	defer close(w.done)
	buf := make([]byte, 64<<10)
	for {
		n, err := w.f.Read(buf)
		if errors.Is(err, os.ErrClosed) {
			return
		}
		if err != nil {
			if errors.Is(err, unix.ENOBUFS) {
				// Events were dropped: say so instead of missing one.
				w.fail(errors.New("proc connector: receive buffer overrun (events lost)"))
				continue
			}
			w.fail(err)
			return
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			continue
		}
		for _, m := range msgs {
			w.event(m.Data)
		}
	}
}

// event handles one cn_msg carrying a proc_event.
func (w *execWatch) event(d []byte) {
	if len(d) < cnMsgLen+procEventHeaderLen+8 {
		return
	}
	if binary.NativeEndian.Uint32(d[0:]) != cnIdxProc {
		return
	}
	ev := d[cnMsgLen:]
	if binary.NativeEndian.Uint32(ev[0:]) != procEventExec {
		return
	}
	stamp := int64(binary.NativeEndian.Uint64(ev[8:]))
	// process_pid, then process_tgid: keyed by the process (an exec
	// from any thread makes it the leader).
	tgid := int(binary.NativeEndian.Uint32(ev[procEventHeaderLen+4:]))
	w.mu.Lock()
	w.execs[tgid] = stamp
	w.mu.Unlock()
	w.cond.Broadcast()
}

func (w *execWatch) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
	w.cond.Broadcast()
}

// selfTest runs /bin/true and waits for its exec event.
func (w *execWatch) selfTest() error {
	t0 := mono()
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		return fmt.Errorf("proc connector self-test: %w", err)
	}
	_, _ = p.Wait()
	if _, err := w.Exec(p.Pid, t0, 2*time.Second); err != nil {
		return fmt.Errorf("proc connector self-test: %w", err)
	}
	return nil
}

// Exec returns the stamp of pid's last exec at or after since (an earlier
// one is another process's that had the pid), waiting up to timeout for
// it. Call it after the exec'd program showed itself (its notify): by
// then the kernel sent the event, but the read loop may not have got it.
func (w *execWatch) Exec(pid int, since int64, timeout time.Duration) (int64, error) {
	deadline := time.Now().Add(timeout)
	t := time.AfterFunc(timeout, w.cond.Broadcast)
	defer t.Stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		if s, ok := w.execs[pid]; ok && s >= since {
			return s, nil
		}
		if w.err != nil {
			return 0, w.err
		}
		if !time.Now().Before(deadline) {
			return 0, fmt.Errorf("proc connector: no exec event for pid %d within %v", pid, timeout)
		}
		w.cond.Wait()
	}
}

// Err is the first error the read loop met (events lost), if any.
func (w *execWatch) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *execWatch) Close() {
	_ = sendMcast(w.fd, procCnMcastIgnore)
	_ = w.f.Close() // the blocked Read returns
	<-w.done
}
