package logfile

import (
	"errors"
	"strconv"

	"golang.org/x/sys/unix"
)

// Output that nothing transforms or inspects (a plain log file, no syslog,
// strip_ansi, capture mode, console copy or events; see Sink.needsBytes) goes from the
// pipe into the file with splice(2): the kernel moves the pipe's pages,
// and the daemon never copies the bytes through user space.
//
// Rotation stays where Writer.Write puts it: a splice stops spliceMargin
// short of maxBytes, and from there the pump reads and writes normally, so
// the file is rotated after the write that crosses maxBytes and ends a
// line, exactly as without splice.

const (
	// spliceChunk is the most one splice moves (a pipe holds at most
	// bulkPipeSize unless its writer enlarged it).
	spliceChunk = 1 << 20
	// spliceMargin: within this many bytes of maxBytes the pump reads
	// normally (one read buffer).
	spliceMargin = readBufSize
)

// spliceMode is a pipe's splice decision, taken at its first read.
type spliceMode uint8

const (
	spliceUnknown spliceMode = iota
	spliceOn
	spliceOff
)

// errNoSpliceNow: this round must be read normally (near the rotation
// boundary, inside a write outage, no file open); splice may work later.
var errNoSpliceNow = errors.New("read normally this round")

// trySplice moves the pipe's pending output into its log file with splice.
// handled false means nothing was moved: the caller reads normally.
func (p *Pump) trySplice(pp *pipe) (n int, handled bool) {
	if pp.splice == spliceOff {
		return 0, false
	}
	if pp.splice == spliceUnknown {
		pp.splice = spliceOff
		if pp.carryLen > 0 || pp.sink.needsBytes() {
			return 0, false
		}
		pp.splice = spliceOn
	}
	w := pp.sink.Log.(*Writer) // needsBytes checked it
	n, eof, err := w.spliceFrom(pp.fd)
	switch {
	case errors.Is(err, errNoSpliceNow):
		return 0, false
	case err != nil:
		// The file or fd does not take splice (EINVAL: not a pipe, a
		// file system without splice_write): read normally from now on.
		pp.splice = spliceOff
		return 0, false
	case eof:
		pp.consume(nil, true)
		p.closePipe(pp)
		return 0, true
	}
	pp.grow(n, false)
	return n, true
}

// spliceFrom moves up to spliceChunk bytes from the non-blocking pipe fd
// to the end of the file. It returns errNoSpliceNow when the bytes must go
// through Write this time, another error when splice cannot work for this
// file, eof when the pipe's writers are gone. Subscribers are woken as for
// a Write.
func (w *Writer) spliceFrom(fd int) (n int, eof bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	// An outage's loss marker, writes serialised with the console and a
	// rotation waiting for the end of a line go through Write.
	if w.closed || w.fd < 0 || !w.regular || w.failing || w.rotFailing || w.noSplice || w.serial != nil || w.rotatePending {
		return 0, false, errNoSpliceNow
	}
	chunk := int64(spliceChunk)
	if w.maxBytes > 0 {
		chunk = min(chunk, w.maxBytes-spliceMargin-w.size)
		if chunk <= 0 {
			return 0, false, errNoSpliceNow
		}
	}
	// splice(2) refuses an O_APPEND target, so it writes through a second
	// descriptor of the same open file's inode, at the end the file has
	// now (an external truncation, logrotate's copytruncate, included).
	if w.sfd < 0 {
		// Readable too, for the last byte (midLine) after each splice.
		self := "/proc/self/fd/" + strconv.Itoa(w.fd)
		sfd, err := openRetry(self, unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			sfd, err = openRetry(self, unix.O_WRONLY|unix.O_CLOEXEC, 0)
		}
		if err != nil {
			w.noSplice = true
			return 0, false, err
		}
		w.sfd = sfd
	}
	var st unix.Stat_t
	if err := unix.Fstat(w.fd, &st); err != nil {
		return 0, false, errNoSpliceNow
	}
	off := st.Size
	for {
		k, err := unix.Splice(fd, nil, w.sfd, &off, int(chunk), unix.SPLICE_F_NONBLOCK|unix.SPLICE_F_MOVE)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return 0, false, nil
		case err != nil:
			// Nothing was taken from the pipe: Write sees these bytes
			// and reports a full disk or an I/O error as usual.
			if err == unix.EINVAL || err == unix.ENOSYS {
				w.noSplice = true
				return 0, false, err
			}
			return 0, false, errNoSpliceNow
		case k == 0:
			return 0, true, nil
		}
		w.size = off
		w.written += k
		w.spliced += k
		// Whether a line is open, for the loss marker of a later outage.
		var last [1]byte
		if n, err := unix.Pread(w.sfd, last[:], off-1); n == 1 && err == nil {
			w.midLine = last[0] != '\n'
		}
		w.notifyLocked()
		return int(k), false, nil
	}
}

// closeSpliceLocked closes the splice descriptor; the next splice opens one
// for the file open then.
func (w *Writer) closeSpliceLocked() {
	if w.sfd >= 0 {
		_ = unix.Close(w.sfd)
		w.sfd = -1
	}
}
