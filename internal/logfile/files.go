package logfile

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
)

// Files are the child log files open in the daemon, by path: every pipe
// writing to one path (two generations of a program, a restart while the
// old pipes drain, several programs sharing a file) shares one Writer and
// so one rotation state. It is shared by spawns (Acquire), the pump
// (Release when a pipe closes), signals (Reopen) and the control API
// (Clear), hence its lock; it holds nothing per process.
type Files struct {
	log *slog.Logger

	mu     sync.Mutex
	files  map[string]*sharedWriter
	serial sync.Locker // for Writers on drover's stdout or stderr
}

// SerializeStdio makes the Writers of /dev/stdout and /dev/stderr (every
// spelling stdioFD knows) opened from now on hold l around each write:
// the lock of the Console on those files.
func (f *Files) SerializeStdio(l sync.Locker) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.serial = l
}

type sharedWriter struct {
	w    *Writer
	refs int
}

// NewFiles returns an empty set; log receives rotation problems.
func NewFiles(log *slog.Logger) *Files {
	return &Files{log: log, files: map[string]*sharedWriter{}}
}

// Acquire returns the Writer for path, opening it (with rotation at
// maxBytes, backups kept) on first use; every Acquire needs one Release.
func (f *Files) Acquire(path string, maxBytes int64, backups int) (*Writer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if sw, ok := f.files[path]; ok {
		sw.refs++
		return sw.w, nil
	}
	w, err := OpenWriter(path, maxBytes, backups, f.log)
	if err != nil {
		return nil, err
	}
	if _, std := stdioFD(path); std && f.serial != nil {
		w.Serialize(f.serial)
	}
	f.files[path] = &sharedWriter{w: w, refs: 1}
	return w, nil
}

// Release drops one reference to path's Writer, closing it at zero.
func (f *Files) Release(path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sw, ok := f.files[path]
	if !ok {
		return
	}
	if sw.refs--; sw.refs == 0 {
		delete(f.files, path)
		sw.w.Close()
	}
}

// Reopen reopens every open file (SIGUSR2, after an external rotation).
func (f *Files) Reopen() {
	f.mu.Lock()
	ws := make([]*Writer, 0, len(f.files))
	for _, sw := range f.files {
		ws = append(ws, sw.w)
	}
	f.mu.Unlock()
	for _, w := range ws {
		if err := w.Reopen(); err != nil {
			f.log.Warn(fmt.Sprintf("could not reopen %s: %v", w.Path(), err))
		}
	}
}

// Clear deletes and recreates the log at path (clearProcessLogs): through
// its Writer when open, else by truncating it in place (which keeps a
// target that is not a regular file). "" is no log.
func (f *Files) Clear(path string) error {
	if path == "" {
		return nil
	}
	f.mu.Lock()
	sw := f.files[path]
	f.mu.Unlock()
	if sw != nil {
		return sw.w.Clear()
	}
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC|os.O_CREATE, 0o666)
	if err != nil {
		return err
	}
	return file.Close()
}

// Counters returns the bytes written and dropped through path's Writer
// since it was opened; ok is false when it is not open (no process writes
// to it now).
func (f *Files) Counters(path string) (written, dropped int64, ok bool) {
	f.mu.Lock()
	sw := f.files[path]
	f.mu.Unlock()
	if sw == nil {
		return 0, 0, false
	}
	written, dropped = sw.w.Counters()
	return written, dropped, true
}
