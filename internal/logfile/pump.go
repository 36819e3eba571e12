package logfile

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// ErrPumpClosed is returned by Add after Close.
var ErrPumpClosed = errors.New("log pump closed")

// Handle names one pipe registered with a Pump.
type Handle uint64

// Tuning of the read loop.
const (
	// readBufSize is the one shared read buffer (supervisord reads 128 KiB).
	readBufSize = 128 << 10
	// coalesceBelow: a round that read less than this many bytes in all is
	// followed by a pause of coalesceDelay, so that a producer writing one
	// short line per write(2) is read in large chunks instead of one wake-up
	// per line. The pause happens only after output arrived, never when
	// idle, and delays output by at most coalesceDelay.
	//
	// Each pause costs the loop a sleep and a wake-up, so a longer one
	// halves that per byte: 256 MiB of 100-byte lines, 10 runs each
	// alternating, daemon CPU ticks 11–15 (median 13) with 2 ms against
	// 13–16 (median 15) with 1 ms, at the same MB/s; 4 ms was slower (the
	// writer outran even the grown pipe) and no cheaper. With a single P
	// the pause holds the only P (see pause), so there it is onePDelay.
	coalesceBelow = 96 << 10
	coalesceDelay = 2 * time.Millisecond
	onePDelay     = time.Millisecond
	// yieldEvery: a loop that has moved output for this long yields once
	// (runtime.Gosched). It never parks while output flows, so the
	// runtime's sysmon saw one goroutine run for 10 ms, took its P when it
	// found it in a syscall, and then polled every 20 µs for a millisecond
	// or more: 256 MiB of 100-byte lines cost sysmon's thread 9–16 ms of
	// CPU and ~500–900 context switches, against 2.3–3.5 ms and ~180 with
	// a yield every 5 or 9 ms. Just under sysmon's 10 ms: a yield wakes an
	// idle thread, and at 5 ms the respawn median under a 60 MB/s flood
	// rose from 1.22–1.33 to 1.42–1.49 ms (at 9 ms: 1.26–1.30).
	yieldEvery = 9 * time.Millisecond
	// grownPipeSize is what a pipe with a fast writer is enlarged to, so
	// the writer does not block during the pause (4× the default; modest
	// because unprivileged users have a per-user pipe memory budget).
	grownPipeSize = 256 << 10
	// bulkPipeSize is the next step, for a writer that fills even the
	// grown pipe between two rounds (bulkAt read at once): each splice or
	// read then finds up to 1 MiB, with a quarter of the wake-ups. Same-run
	// bench, 1 GiB in 64 KiB writes: 1,184–1,265 MB/s at 0.45–0.47 CPU
	// s/GiB against 864–892 MB/s at 0.51–0.53 with 256 KiB. The pages are
	// the kernel's only while they hold unread output; the pipe-max-size
	// sysctl caps it for an unprivileged daemon (then it stays grown).
	bulkPipeSize = 1 << 20
	// growAt: one read this large marks a fast writer. Not the default
	// pipe's 64 KiB: small writes never fill a pipe to that, since the
	// kernel packs them per page (16 pages of 40 100-byte lines hold
	// 64,000 bytes; 16 of one 3,000-byte write hold 48,000).
	growAt = 32 << 10
	// bulkAt: one splice this large, or a read that fills the read
	// buffer, from a grown pipe marks a bulk writer.
	bulkAt = 192 << 10
	// drainReads bounds the reads done for a pipe on Remove or Close.
	drainReads = 16
)

// Pump moves children's output from pipes to Sinks with one goroutine and
// one epoll instance for all pipes. An idle Pump makes no wake-ups: it
// blocks in epoll_wait with no timeout. Per pipe it keeps only a small
// struct (no buffer while idle); reads go through one shared 128 KiB buffer
// and are written straight to the Sink's Writer with write(2), so a slow
// disk holds the loop back, the pipes fill and the children block, and
// memory does not grow.
//
// All Sink callbacks run on the Pump's goroutine.
type Pump struct {
	logger *slog.Logger
	epfd   int
	evfd   int
	delay  time.Duration

	mu      sync.Mutex
	nextID  uint64
	adds    map[uint64]*pipe // registered with epoll, not yet seen by the loop
	removes []uint64
	closing bool
	// suspend, when set, asks the loop to stop reading (Suspend); it
	// answers there and waits for resume.
	suspend chan map[Handle]int
	resume  chan struct{}
	hasCtl  atomic.Bool
	done    chan struct{}

	// Owned by the loop goroutine.
	pipes map[uint64]*pipe
	buf   []byte
	// fmtBuf is where the pipes with a LineFormat build their output.
	fmtBuf []byte
}

type pipe struct {
	id     uint64
	fd     int
	size   int        // pipe size set by grow (0: the kernel's default)
	splice spliceMode // splice.go
	sink   Sink
	pipeState
}

// NewPump starts a Pump. logger receives read errors; nil discards them.
func NewPump(logger *slog.Logger) (*Pump, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("log pump: epoll_create1: %w", err)
	}
	evfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		_ = unix.Close(epfd)
		return nil, fmt.Errorf("log pump: eventfd: %w", err)
	}
	// The eventfd has id 0; pipes count from 1.
	ev := unix.EpollEvent{Events: unix.EPOLLIN}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		_ = unix.Close(epfd)
		_ = unix.Close(evfd)
		return nil, fmt.Errorf("log pump: epoll_ctl eventfd: %w", err)
	}
	p := &Pump{
		logger: logger, epfd: epfd, evfd: evfd, delay: coalesceDelay,
		nextID: 1, adds: map[uint64]*pipe{}, done: make(chan struct{}),
		pipes: map[uint64]*pipe{},
	}
	go p.loop()
	return p, nil
}

// Add registers the read end of a pipe (or socket) with sink and returns
// its Handle. The Pump takes ownership of f: f is closed by Add in every
// case (the Pump keeps a duplicate fd, in non-blocking mode, which it closes
// when done), so the caller must not use f afterwards. The write end is the
// caller's to hand to the child and to close in the parent.
func (p *Pump) Add(f *os.File, sink Sink) (Handle, error) {
	if f == nil {
		return 0, fmt.Errorf("log pump: add: %w", os.ErrInvalid)
	}
	name := f.Name()
	fd, err := dupNonblock(f)
	_ = f.Close()
	if err != nil {
		return 0, fmt.Errorf("log pump: add %s: %w", name, err)
	}
	return p.add(fd, name, sink)
}

// AddFD is Add for a raw descriptor the caller made non-blocking and
// close-on-exec (a pipe2 read end): the Pump takes fd over as it is, with
// no duplicate, and closes it in every case, so the caller must not use fd
// afterwards. name is only for messages.
func (p *Pump) AddFD(fd int, name string, sink Sink) (Handle, error) {
	if fd < 0 {
		return 0, fmt.Errorf("log pump: add %s: %w", name, os.ErrInvalid)
	}
	return p.add(fd, name, sink)
}

func (p *Pump) add(fd int, name string, sink Sink) (Handle, error) {
	pp := &pipe{fd: fd, sink: sink}
	pp.pipeState.sink = &pp.sink
	pp.pipeState.out = &p.fmtBuf

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing {
		_ = unix.Close(fd)
		return 0, ErrPumpClosed
	}
	pp.id = p.nextID
	p.nextID++
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(uint32(pp.id)), Pad: int32(uint32(pp.id >> 32))}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		_ = unix.Close(fd)
		return 0, fmt.Errorf("log pump: add %s: epoll_ctl: %w", name, err)
	}
	p.adds[pp.id] = pp
	p.hasCtl.Store(true)
	return Handle(pp.id), nil
}

func dupNonblock(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(s uintptr) {
		fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, derr
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// Remove stops reading h's pipe: the loop reads what is already in the
// pipe (a bounded amount), delivers it, closes the fd and calls OnClosed.
// Remove does not wait for that; it is safe to call from a Sink callback,
// more than once, and for a pipe already closed at EOF (then it does
// nothing).
func (p *Pump) Remove(h Handle) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing {
		return // Close drains and closes every pipe anyway
	}
	p.removes = append(p.removes, uint64(h))
	p.hasCtl.Store(true)
	p.wake()
}

// Close drains and closes every pipe still registered (calling their
// OnClosed), stops the loop and waits for it. Close is idempotent; it must
// not be called from a Sink callback.
func (p *Pump) Close() error {
	p.mu.Lock()
	if !p.closing {
		p.closing = true
		p.hasCtl.Store(true)
		p.wake()
		if p.resume != nil { // a suspended loop shuts down
			close(p.resume)
			p.suspend, p.resume = nil, nil
		}
	}
	p.mu.Unlock()
	<-p.done
	return nil
}

// Suspend stops reading every pipe and returns, by Handle, the fds of the
// pipes still registered, which stay open and registered: what was read
// was delivered (a held-back token prefix too), what the pipes hold stays
// in them, and writers block once a pipe is full, so nothing is lost while
// the Pump is suspended. An in-place upgrade hands those fds to the next
// image; if it does not happen, Resume goes on reading. Not from a Sink
// callback; nil after Close.
func (p *Pump) Suspend() map[Handle]int {
	p.mu.Lock()
	if p.closing || p.suspend != nil {
		p.mu.Unlock()
		return nil
	}
	ch := make(chan map[Handle]int, 1)
	p.suspend, p.resume = ch, make(chan struct{})
	p.hasCtl.Store(true)
	p.wake()
	p.mu.Unlock()
	select {
	case m := <-ch:
		return m
	case <-p.done:
		return nil
	}
}

// Resume undoes Suspend.
func (p *Pump) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.resume != nil {
		close(p.resume)
		p.suspend, p.resume = nil, nil
	}
}

// wake makes the loop run control(); called with mu held and !closing, so
// the eventfd is still open.
func (p *Pump) wake() {
	var one = [8]byte{1}
	// EAGAIN means the counter is already non-zero: the loop will wake.
	_, _ = unix.Write(p.evfd, one[:])
}
