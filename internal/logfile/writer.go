package logfile

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// Writer is a log file with supervisord's rotation semantics. It is safe for
// concurrent use.
//
// Every Write is written whole (O_APPEND, write(2) on the raw fd, nothing is
// buffered in memory); afterwards, if the file is a regular file, maxBytes > 0
// and its size is >= maxBytes, it is rotated: .N-1→.N … .1→.2 (an existing
// target is removed first), base→.1, and a new empty base is opened; with
// backups == 0 the base is truncated instead. A file may therefore exceed
// maxBytes by one write, as in supervisord, and no write is ever split across
// two files. Unlike supervisord, a write that ends inside a line (a pipe read
// that stopped mid-line) postpones the rotation to the next write that ends
// a line, unless the file already exceeds maxBytes by lineSlack, so lines
// stay whole across files. Non-regular targets (/dev/stdout, fifos, ttys)
// are never rotated, seeked or removed.
//
// Write never fails and never panics: bytes that cannot be written (full
// disk, I/O error, file not reopenable) are dropped and counted; the first
// error of an outage is logged once, and when writing succeeds again the
// number of dropped bytes is logged and written into the file itself, as a
// line "[drover: N bytes lost: disk full]" that also ends the line the
// outage cut (lossMarker).
type Writer struct {
	path     string
	maxBytes int64
	backups  int
	logger   *slog.Logger
	mode     uint32 // permission bits for a newly created file

	mu      sync.Mutex
	fd      int   // -1 when no file is open (open failed, or closed)
	size    int64 // bytes in the file as far as this Writer knows
	regular bool  // rotation applies only to regular files
	closed  bool

	subs map[chan struct{}]struct{} // Subscribe channels

	serial sync.Locker // held around each write(2) when set (Serialize)

	failing      bool  // inside an outage; the error was reported
	failErr      error // the error that started the outage (for the marker)
	midLine      bool  // the file's last byte is not a newline
	rotFailing   bool  // rotation is failing; the error was reported
	dropped      int64 // bytes dropped in the current outage
	totalDropped int64
	written      int64 // bytes written since the Writer was opened
}

// OpenWriter opens (creating with mode 0666 before umask, like Python's
// open) or appends to path. maxBytes <= 0 disables rotation; backups < 0 is
// treated as 0. logger receives write-error reports; nil discards them. The
// logger must not write back into this same Writer synchronously unless it
// tolerates the failed writes being dropped (the main log does: reports are
// emitted after the lock is released and only once per outage).
func OpenWriter(path string, maxBytes int64, backups int, logger *slog.Logger) (*Writer, error) {
	if backups < 0 {
		backups = 0
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	w := &Writer{path: path, maxBytes: maxBytes, backups: backups, logger: logger, mode: 0o666, fd: -1}
	if err := w.openLocked(false); err != nil {
		return nil, err
	}
	return w, nil
}

// Path is the base file name given to OpenWriter.
func (w *Writer) Path() string { return w.path }

// Dropped returns the total number of bytes this Writer could not write.
func (w *Writer) Dropped() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.totalDropped
}

// Counters returns the bytes written and dropped since the Writer was
// opened (/metrics).
func (w *Writer) Counters() (written, dropped int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.written, w.totalDropped
}

// stdioFD maps the paths that name the daemon's own standard output and
// error to those fds (ok false for any other path). They are duplicated
// rather than opened: opening /dev/stdout fails when it is a socket
// (systemd's journal), and a duplicate is never rotated, truncated or
// removed even when the daemon's stdout was redirected to a regular file.
// A switch, not a map, so that nothing is built at package init.
func stdioFD(path string) (fd int, ok bool) {
	switch path {
	case "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1":
		return 1, true
	case "/dev/stderr", "/dev/fd/2", "/proc/self/fd/2":
		return 2, true
	}
	return 0, false
}

// openLocked opens the base file in append mode (truncating it when trunc),
// replacing any open fd.
func (w *Writer) openLocked(trunc bool) error {
	if w.fd >= 0 {
		_ = unix.Close(w.fd)
		w.fd = -1
	}
	if std, ok := stdioFD(w.path); ok {
		fd, err := unix.FcntlInt(uintptr(std), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open log file %s: %w", w.path, err)
		}
		w.fd, w.regular, w.size = fd, false, 0
		return nil
	}
	// O_NONBLOCK makes opening a fifo without a reader fail (ENXIO) instead
	// of hanging the daemon; it is cleared again below so that writes block
	// and a slow reader holds the producer back.
	flags := unix.O_WRONLY | unix.O_CREAT | unix.O_APPEND | unix.O_CLOEXEC | unix.O_NONBLOCK
	var st unix.Stat_t
	// Never truncate a non-regular target.
	if err := unix.Stat(w.path, &st); err == nil && st.Mode&unix.S_IFMT != unix.S_IFREG {
		trunc = false
	}
	if trunc {
		flags |= unix.O_TRUNC
	}
	fd, err := openRetry(w.path, flags, w.mode)
	if err != nil {
		return fmt.Errorf("open log file %s: %w", w.path, err)
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		_ = unix.Close(fd)
		return fmt.Errorf("open log file %s: %w", w.path, err)
	}
	if err := unix.Fstat(fd, &st); err != nil {
		_ = unix.Close(fd)
		return fmt.Errorf("stat log file %s: %w", w.path, err)
	}
	w.fd = fd
	w.regular = st.Mode&unix.S_IFMT == unix.S_IFREG
	w.size = st.Size
	if w.regular {
		w.midLine = false
		var last [1]byte
		if st.Size > 0 {
			if n, err := unix.Pread(fd, last[:], st.Size-1); n == 1 && err == nil {
				w.midLine = last[0] != '\n'
			}
		}
	}
	return nil
}

func openRetry(path string, flags int, mode uint32) (int, error) {
	for {
		fd, err := unix.Open(path, flags, mode)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// Write writes p whole and rotates afterwards if needed. It always returns
// len(p), nil: failures are counted (see Dropped) and reported through the
// logger, never returned, so a producer is never stopped by a full disk.
// A nil *Writer discards p.
func (w *Writer) Write(p []byte) (int, error) {
	if w == nil {
		return len(p), nil // a nil Writer is NONE: output is discarded
	}
	w.mu.Lock()
	report := w.writeLocked(p)
	w.mu.Unlock()
	report.emit(w)
	return len(p), nil
}

// report is what a write has to tell the logger once the lock is released.
type report struct {
	failErr   error // the first error of a new outage
	op        string
	recovered int64 // > 0: writing resumed after dropping this many bytes
}

func (r report) emit(w *Writer) {
	switch {
	case r.failErr != nil && r.op == "rotation":
		w.logger.Error("log file rotation failed; writing on to the current file",
			"path", w.path, "err", r.failErr)
	case r.failErr != nil:
		w.logger.Error("log file "+r.op+" failed; dropping output until it works again",
			"path", w.path, "err", r.failErr)
	}
	if r.recovered > 0 {
		w.logger.Warn("log file writable again; "+strconv.FormatInt(r.recovered, 10)+" bytes were dropped",
			"path", w.path)
	}
}

// lineSlack bounds how far past maxBytes a file grows while waiting for a
// write that ends a line (output without newlines still rotates).
const lineSlack = 128 << 10

func (w *Writer) writeLocked(p []byte) report {
	var r report
	endsLine := len(p) > 0 && p[len(p)-1] == '\n'
	if w.closed {
		w.dropLocked(int64(len(p)), errClosed, "write", &r)
		return r
	}
	if w.fd < 0 {
		// A previous reopen failed: try again now that there is output.
		if err := w.openLocked(false); err != nil {
			w.dropLocked(int64(len(p)), err, "open", &r)
			return r
		}
	}
	wrote, failed := false, false
	if w.failing {
		// The first write after an outage starts with a line that says
		// what was lost, on a line of its own: the line the outage tore
		// is ended there, not glued to the next output.
		n, err := w.writeAllLocked(w.lossMarker())
		wrote = n > 0
		if err != nil {
			w.dropLocked(int64(len(p)), err, "write", &r)
			failed = true
			p = nil
		} else {
			// The marker ends the outage; a failure of p starts another.
			w.failing, w.failErr = false, nil
			r.recovered, w.dropped = w.dropped, 0
		}
	}
	if len(p) > 0 {
		n, err := w.writeAllLocked(p)
		wrote = wrote || n > 0
		if err != nil {
			w.dropLocked(int64(len(p)-n), err, "write", &r)
			failed = true
		}
	}
	// After a partial write the line is broken anyway; rotating then also
	// frees room when the disk is full (backups=0 truncates).
	if w.regular && w.maxBytes > 0 && w.size >= w.maxBytes &&
		(endsLine || failed || w.size-w.maxBytes >= min(w.maxBytes, lineSlack)) {
		w.rotateLocked(&r)
	}
	if wrote {
		w.notifyLocked()
	}
	return r
}

// Subscribe returns a channel that receives a value after writes,
// rotations, Reopen and Clear, so a follower (tail -f, /logtail) can read
// the file again without polling. Signals are coalesced (capacity 1) and
// never block the Writer. cancel ends the subscription; it is idempotent.
func (w *Writer) Subscribe() (ch <-chan struct{}, cancel func()) {
	c := make(chan struct{}, 1)
	w.mu.Lock()
	if w.subs == nil {
		w.subs = map[chan struct{}]struct{}{}
	}
	w.subs[c] = struct{}{}
	w.mu.Unlock()
	return c, func() {
		w.mu.Lock()
		delete(w.subs, c)
		w.mu.Unlock()
	}
}

func (w *Writer) notifyLocked() {
	for c := range w.subs {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

var errClosed = errors.New("log file closed")

// Serialize makes every write of w hold l, the lock of a Console on the
// same file (drover's stdout), so that w's lines and the console's never
// land inside each other: on a pipe a write above PIPE_BUF is not atomic.
func (w *Writer) Serialize(l sync.Locker) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.serial = l
}

// writeAllLocked writes p whole, retrying short writes, and returns how
// many bytes were written before an error.
func (w *Writer) writeAllLocked(p []byte) (int, error) {
	if w.serial != nil {
		w.serial.Lock()
		defer w.serial.Unlock()
	}
	done := 0
	for done < len(p) {
		n, err := unix.Write(w.fd, p[done:])
		if err == unix.EINTR {
			continue
		}
		if n > 0 {
			done += n
			w.size += int64(n)
			w.written += int64(n)
			w.midLine = p[done-1] != '\n'
		}
		if err != nil || n <= 0 {
			if err == nil {
				err = unix.EIO
			}
			return done, err
		}
	}
	return done, nil
}

// lossMarker is the line written when writing works again after an
// outage, preceded by a newline if the outage left a line unfinished:
// "[drover: N bytes lost: disk full]".
func (w *Writer) lossMarker() []byte {
	why := "write failed"
	switch {
	case errors.Is(w.failErr, unix.ENOSPC), errors.Is(w.failErr, unix.EDQUOT):
		why = "disk full"
	case w.failErr != nil:
		why = w.failErr.Error()
	}
	m := make([]byte, 0, 64)
	if w.midLine {
		m = append(m, '\n')
	}
	m = append(m, "[drover: "...)
	m = strconv.AppendInt(m, w.dropped, 10)
	m = append(m, " bytes lost: "...)
	m = append(m, why...)
	return append(m, "]\n"...)
}

func (w *Writer) dropLocked(n int64, err error, op string, r *report) {
	w.dropped += n
	w.totalDropped += n
	if !w.failing {
		w.failing = true
		w.failErr = err
		r.failErr = err
		r.op = op
	}
}

// rotateLocked performs supervisord's doRollover. The tracked size is
// checked against fstat first so an external truncation (logrotate
// copytruncate) does not cause a needless rotation.
func (w *Writer) rotateLocked(r *report) {
	var st unix.Stat_t
	if err := unix.Fstat(w.fd, &st); err == nil {
		w.size = st.Size
		if w.size < w.maxBytes {
			return
		}
	}
	if w.backups > 0 {
		for i := w.backups - 1; i > 0; i-- {
			src := w.path + "." + strconv.Itoa(i)
			if _, err := lstatExists(src); err == nil {
				if err := removeAndRename(src, w.path+"."+strconv.Itoa(i+1)); err != nil {
					w.rotateFailed(err, r)
					return
				}
			}
		}
		if err := removeAndRename(w.path, w.path+".1"); err != nil {
			w.rotateFailed(err, r)
			return
		}
	}
	if err := w.openLocked(true); err != nil {
		// The old fd is closed; the next write retries the open.
		w.rotateFailed(err, r)
		return
	}
	w.rotFailing = false
}

// rotateFailed reports the first rotation failure; writing goes on to the
// current file and every later write retries the rotation.
func (w *Writer) rotateFailed(err error, r *report) {
	if !w.rotFailing && r.failErr == nil {
		r.failErr = err
		r.op = "rotation"
	}
	w.rotFailing = true
}

func lstatExists(path string) (bool, error) {
	var st unix.Stat_t
	err := unix.Lstat(path, &st)
	return err == nil, err
}

// removeAndRename moves src to dst, removing dst first; a vanished dst or
// src (someone cleaned up) is not an error, as in supervisord.
func removeAndRename(src, dst string) error {
	if err := unix.Unlink(dst); err != nil && err != unix.ENOENT {
		return fmt.Errorf("remove %s: %w", dst, err)
	}
	if err := unix.Rename(src, dst); err != nil && err != unix.ENOENT {
		return fmt.Errorf("rename %s to %s: %w", src, dst, err)
	}
	return nil
}

// Reopen closes and reopens the base file in append mode, creating it if it
// was moved away (SIGUSR2 after an external logrotate).
func (w *Writer) Reopen() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errClosed
	}
	defer w.notifyLocked()
	return w.openLocked(false)
}

// Clear deletes the base file (backups are kept, as in supervisord's
// clearProcessLogs) and opens a new empty one. A non-regular target such as
// /dev/stdout is never deleted; it is only reopened.
func (w *Writer) Clear() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errClosed
	}
	if w.regular {
		if err := unix.Unlink(w.path); err != nil && err != unix.ENOENT {
			return fmt.Errorf("remove log file %s: %w", w.path, err)
		}
	}
	defer w.notifyLocked()
	return w.openLocked(false)
}

// Close closes the file. Later writes are dropped and counted.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if w.fd < 0 {
		return nil
	}
	err := unix.Close(w.fd)
	w.fd = -1
	if err != nil {
		return fmt.Errorf("close log file %s: %w", w.path, err)
	}
	return nil
}
