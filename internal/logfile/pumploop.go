package logfile

import (
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// loop is the Pump's goroutine: wait, take control requests, read every
// ready pipe once (fairness), and pause briefly after a round that carried
// little output so the next round reads larger chunks.
func (p *Pump) loop() {
	defer close(p.done)
	p.buf = make([]byte, readBufSize)
	events := make([]unix.EpollEvent, 256)
	yielded := time.Now()
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			// Only a programming error (EBADF, EINVAL) gets here; stop
			// cleanly rather than spin.
			p.logger.Error("log pump: epoll_wait failed; closing every pipe", "err", err)
			p.shutdown()
			return
		}
		// The eventfd is reset before hasCtl is read: reset after, it
		// could swallow the wake of a Close or Remove that came in between,
		// and the loop would sleep for ever with that request pending.
		for i := range events[:n] {
			if events[i].Fd == 0 && events[i].Pad == 0 {
				var b [8]byte
				_, _ = unix.Read(p.evfd, b[:])
				break
			}
		}
		if p.hasCtl.Load() && p.control() {
			return
		}
		total := 0
		for i := range events[:n] {
			ev := &events[i]
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if id == 0 {
				continue
			}
			pp := p.pipes[id]
			if pp == nil {
				// Registered by an Add racing with this round.
				if p.control() {
					return
				}
				if pp = p.pipes[id]; pp == nil {
					continue // stale event of a pipe closed this round
				}
			}
			total += p.service(pp)
		}
		if total > 0 && total < coalesceBelow && p.delay > 0 {
			pause(p.delay)
		}
		if total > 0 {
			if now := time.Now(); now.Sub(yielded) >= yieldEvery {
				yielded = now
				gosched()
			}
		}
	}
}

// gosched is runtime.Gosched; a test counts the loop's yields through it.
var gosched = runtime.Gosched

// control applies pending Adds and Removes; it returns true when the Pump
// is closing, after everything was shut down.
func (p *Pump) control() bool {
	p.mu.Lock()
	for id, pp := range p.adds {
		p.pipes[id] = pp
		delete(p.adds, id)
	}
	removes := p.removes
	p.removes = nil
	closing := p.closing
	suspend, resume := p.suspend, p.resume
	p.hasCtl.Store(false)
	p.mu.Unlock()

	for _, id := range removes {
		if pp := p.pipes[id]; pp != nil {
			p.drainAndClose(pp)
		}
	}
	if closing {
		p.shutdown()
		return true
	}
	if suspend != nil {
		p.suspended(suspend, resume)
	}
	return false
}

// suspended answers Suspend and parks the loop until Resume.
func (p *Pump) suspended(answer chan<- map[Handle]int, resume <-chan struct{}) {
	fds := make(map[Handle]int, len(p.pipes))
	for id, pp := range p.pipes {
		if pp.carryLen > 0 {
			pp.consume(p.buf[:copy(p.buf, pp.carry[:pp.carryLen])], true)
		}
		fds[Handle(id)] = pp.fd
	}
	answer <- fds
	<-resume
}

func (p *Pump) shutdown() {
	p.mu.Lock()
	p.closing = true
	for id, pp := range p.adds {
		p.pipes[id] = pp
		delete(p.adds, id)
	}
	p.mu.Unlock()
	for _, pp := range p.pipes {
		p.drainAndClose(pp)
	}
	_ = unix.Close(p.epfd)
	_ = unix.Close(p.evfd)
}

// service reads once from a ready pipe and delivers the data; it returns
// the number of bytes read.
func (p *Pump) service(pp *pipe) int {
	if n, ok := p.trySplice(pp); ok {
		return n
	}
	c := copy(p.buf, pp.carry[:pp.carryLen])
	for {
		n, err := unix.Read(pp.fd, p.buf[c:])
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return 0
		case err != nil:
			p.logger.Warn("log pump: read failed; closing the pipe", "name", pp.sink.Name, "err", err)
			pp.consume(p.buf[:c], true)
			p.closePipe(pp)
			return 0
		case n == 0:
			pp.consume(p.buf[:c], true)
			p.closePipe(pp)
			return 0
		}
		pp.grow(n, n == len(p.buf)-c)
		pp.consume(p.buf[:c+n], false)
		return n
	}
}

// grow enlarges the pipe of a fast writer, which a full pipe would block
// during the coalescing pause: to grownPipeSize after a read of growAt,
// to bulkPipeSize after one of bulkAt (or a full read buffer, bulk) from
// the grown pipe. A quiet program's pipe keeps the kernel's default.
// Each step is tried once; failure (pipe-max-size, a per-user pipe limit)
// only costs speed.
func (pp *pipe) grow(n int, bulk bool) {
	want := 0
	switch {
	case pp.size >= grownPipeSize && (bulk || n >= bulkAt) && pp.size < bulkPipeSize:
		want = bulkPipeSize
	case n >= growAt && pp.size < grownPipeSize:
		want = grownPipeSize
	default:
		return
	}
	pp.size = want
	_, _ = unix.FcntlInt(uintptr(pp.fd), unix.F_SETPIPE_SZ, want)
}

// drainAndClose reads what is already in the pipe (bounded), delivers it
// and closes the pipe.
func (p *Pump) drainAndClose(pp *pipe) {
	for range drainReads {
		if _, ok := p.pipes[pp.id]; !ok {
			return // closed at EOF while draining
		}
		if p.service(pp) == 0 {
			break
		}
	}
	if _, ok := p.pipes[pp.id]; !ok {
		return
	}
	pp.consume(p.buf[:copy(p.buf, pp.carry[:pp.carryLen])], true)
	p.closePipe(pp)
}

func (p *Pump) closePipe(pp *pipe) {
	_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, pp.fd, nil)
	_ = unix.Close(pp.fd)
	delete(p.pipes, pp.id)
	pp.capBuf = nil
	if pp.sink.OnClosed != nil {
		pp.sink.OnClosed()
	}
}

// pause sleeps in the kernel (nanosleep) rather than through a Go timer:
// the loop's thread is already dedicated to blocking in epoll_wait, and a
// plain syscall costs less than parking and waking a goroutine.
//
// It is a raw syscall, so the goroutine keeps its P for the pause (at most
// coalesceDelay). Through unix.Nanosleep the runtime's sysmon took the P
// away during the pause whenever the loop had run on it for 10 ms (the loop
// never parks, so it counts as one long-running goroutine); with both Ps
// idle sysmon slept, the syscall's return woke it, and it polled every
// 20 µs again: about 12,000 of the daemon's 21,000 context switches while
// it captured 256 MiB, and ~2 points of CPU of 11.
//
// With a single P, holding it would leave every other goroutine (a
// respawn, an RPC) waiting for sysmon's 10 ms preemption while a child
// floods its log, so the loop then pauses at most onePDelay and yields
// after each pause.
func pause(d time.Duration) {
	procs := runtime.GOMAXPROCS(0)
	ts := unix.NsecToTimespec(pauseLen(d, procs).Nanoseconds())
	// A signal (EINTR) ends the pause early rather than sleeping the rest:
	// it is how the runtime asks the goroutine to stop, for a GC's
	// stop-the-world or sysmon's preemption, and a raw syscall cannot stop
	// until it returns; the next function call does.
	_, _, _ = unix.RawSyscall(unix.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
	// Not with more Ps: there Gosched hands the loop to another thread
	// woken for the idle P, which costs more switches than it saves.
	if procs == 1 {
		runtime.Gosched()
	}
}

// pauseLen is the pause for a loop configured with d when the runtime has
// procs Ps.
func pauseLen(d time.Duration, procs int) time.Duration {
	if procs == 1 {
		return min(d, onePDelay)
	}
	return d
}
