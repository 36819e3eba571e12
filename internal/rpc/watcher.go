package rpc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// watcher is the Server's one inotify instance, shared by every log
// stream. With one instance per stream, 130 streams took 128 instances:
// the whole per-user quota of the machine (fs.inotify.max_user_instances),
// so anyone's tail -f failed, reachable even without credentials on a
// read-only listener. One goroutine reads the events (it sleeps in the
// poller: no wake-up without an event) and wakes the streams they
// concern.
type watcher struct {
	once sync.Once
	err  error
	f    *os.File
	fd   int

	mu   sync.Mutex
	subs map[int32][]*watch // by watch descriptor
}

// watch is one stream's interest: a file and its directory (a rotation or
// re-creation shows there, under the file's name).
type watch struct {
	w       *watcher
	base    string
	dir     int32
	file    int32
	wake    chan struct{} // 1-buffered: "something changed"
	stopped chan struct{} // closed when the watcher ends
}

const (
	fileEvents = unix.IN_MODIFY | unix.IN_ATTRIB | unix.IN_CLOSE_WRITE | unix.IN_MOVE_SELF | unix.IN_DELETE_SELF
	dirEvents  = unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_DELETE
)

// errWatcherClosed ends the streams when the Server closes.
var errWatcherClosed = errors.New("log watcher closed")

// start makes the inotify instance and its reader, once.
func (w *watcher) start() error {
	w.once.Do(func() {
		fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
		if err != nil {
			w.err = fmt.Errorf("inotify: %w", err)
			return
		}
		w.fd, w.f, w.subs = fd, os.NewFile(uintptr(fd), "inotify"), map[int32][]*watch{}
		go w.read()
	})
	return w.err
}

// close ends the reader and every stream's wait.
func (w *watcher) close() {
	w.once.Do(func() { w.err = errWatcherClosed })
	if w.f != nil {
		w.f.Close()
	}
}

// watch starts watching path and its directory for one stream.
func (w *watcher) watch(path string) (*watch, error) {
	if err := w.start(); err != nil {
		return nil, err
	}
	in := &watch{w: w, base: filepath.Base(path), dir: -1, file: -1, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.subs == nil { // closed meanwhile
		return nil, errWatcherClosed
	}
	var err error
	if in.dir, err = w.addLocked(filepath.Dir(path), dirEvents, in); err != nil {
		return nil, err
	}
	if in.file, err = w.addLocked(path, fileEvents, in); err != nil {
		w.dropLocked(in.dir, in)
		return nil, err
	}
	return in, nil
}

// watchFile moves the stream to the inode now at path (after a rotation).
func (in *watch) watchFile(path string) error {
	w := in.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.subs == nil {
		return errWatcherClosed
	}
	w.dropLocked(in.file, in)
	var err error
	in.file, err = w.addLocked(path, fileEvents, in)
	return err
}

// wait blocks until an event concerns the stream's file, ctx ends, or the
// watcher closes.
func (in *watch) wait(ctx context.Context) error {
	select {
	case <-in.wake:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-in.stopped:
		return errWatcherClosed
	}
}

// close stops the stream's watches; inotify drops a watch nobody else
// shares.
func (in *watch) close() {
	w := in.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.subs == nil {
		return
	}
	w.dropLocked(in.file, in)
	w.dropLocked(in.dir, in)
	in.file, in.dir = -1, -1
}

// addLocked adds (or shares) the watch of path for in (w.mu held). The
// same inode gets the same descriptor, so streams share watches.
func (w *watcher) addLocked(path string, mask uint32, in *watch) (int32, error) {
	wd, err := unix.InotifyAddWatch(w.fd, path, mask)
	if err != nil {
		return -1, fmt.Errorf("inotify watch %s: %w", path, err)
	}
	w.subs[int32(wd)] = append(w.subs[int32(wd)], in)
	return int32(wd), nil
}

// dropLocked removes in from wd's subscribers, and the watch when it was
// the last (w.mu held).
func (w *watcher) dropLocked(wd int32, in *watch) {
	if wd < 0 {
		return
	}
	subs := w.subs[wd]
	for i, x := range subs {
		if x == in {
			subs = append(subs[:i], subs[i+1:]...)
			break
		}
	}
	if len(subs) > 0 {
		w.subs[wd] = subs
		return
	}
	delete(w.subs, wd)
	_, _ = unix.InotifyRmWatch(w.fd, uint32(wd)) // gone already: EINVAL
}

// read dispatches events until the instance is closed, then stops every
// stream.
func (w *watcher) read() {
	buf := make([]byte, 16<<10)
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			w.mu.Lock()
			for _, subs := range w.subs {
				for _, in := range subs {
					select {
					case <-in.stopped:
					default:
						close(in.stopped)
					}
				}
			}
			w.subs = nil
			w.mu.Unlock()
			return
		}
		w.mu.Lock()
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := cstring(buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)])
			off += unix.SizeofInotifyEvent + int(ev.Len)
			if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
				for _, subs := range w.subs {
					wakeAll(subs, "")
				}
				continue
			}
			wakeAll(w.subs[ev.Wd], name)
			if ev.Mask&unix.IN_IGNORED != 0 {
				delete(w.subs, ev.Wd) // the kernel dropped it (file deleted)
			}
		}
		w.mu.Unlock()
	}
}

// wakeAll wakes the subscribers an event concerns: all of them for an
// event on the watched inode itself (no name), those following name for
// a directory entry.
func wakeAll(subs []*watch, name string) {
	for _, in := range subs {
		if name != "" && name != in.base {
			continue
		}
		select {
		case in.wake <- struct{}{}:
		default:
		}
	}
}

func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
