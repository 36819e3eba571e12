package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// note is one child notification.
type note struct {
	Kind  string // "start" or "produce"
	Pid   int
	Stamp int64 // the child's CLOCK_MONOTONIC when it sent the note
	Recv  int64 // the harness's CLOCK_MONOTONIC when it read the note
}

// parseNote decodes "KIND PID STAMP".
func parseNote(b []byte) (note, error) {
	f := strings.Fields(string(b))
	if len(f) != 3 {
		return note{}, fmt.Errorf("bad note %q", b)
	}
	pid, err1 := strconv.Atoi(f[1])
	stamp, err2 := strconv.ParseInt(f[2], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return note{}, fmt.Errorf("bad note %q: %w", b, err)
	}
	return note{Kind: f[0], Pid: pid, Stamp: stamp}, nil
}

// notifier receives the children's datagrams. Every note is counted; notes
// are also offered on C, which drops them when full (the soak only counts).
type notifier struct {
	Path  string
	C     chan note
	count atomic.Int64
	conn  *net.UnixConn
	done  chan struct{}
	fence chan struct{}
}

// listenNotify binds a unix datagram socket at path and starts reading.
func listenNotify(path string) (*notifier, error) {
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("notify socket: %w", err)
	}
	_ = conn.SetReadBuffer(4 << 20)
	n := &notifier{Path: path, C: make(chan note, 8192), conn: conn, done: make(chan struct{}), fence: make(chan struct{}, 1)}
	go n.read()
	return n, nil
}

func (n *notifier) read() {
	defer close(n.done)
	buf := make([]byte, 256)
	for {
		k, _, err := n.conn.ReadFromUnix(buf)
		if err != nil {
			return // closed
		}
		nt, err := parseNote(buf[:k])
		if err != nil {
			continue
		}
		nt.Recv = mono()
		if nt.Kind == "fence" {
			select {
			case n.fence <- struct{}{}:
			default:
			}
			continue
		}
		n.count.Add(1)
		select {
		case n.C <- nt:
		default:
		}
	}
}

// Count is the number of notes received so far.
func (n *notifier) Count() int64 { return n.count.Load() }

// Fence returns once every datagram queued before the call has been read:
// it queues a "fence" note behind them (the socket is FIFO) and waits for
// the reader to reach it. Call it after the senders are dead.
func (n *notifier) Fence(timeout time.Duration) error {
	if err := sendNotify(n.Path, "fence"); err != nil {
		return err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-n.fence:
		return nil
	case <-t.C:
		return fmt.Errorf("notify fence: no answer in %v", timeout)
	}
}

// Close stops the reader and removes the socket file.
func (n *notifier) Close() {
	_ = n.conn.Close()
	<-n.done
}
