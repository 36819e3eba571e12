package main

import (
	"bytes"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dirWatch reports inotify events on the files of one directory. It is the
// harness's only way to learn that a log file grew: no polling.
type dirWatch struct {
	f    *os.File
	done chan struct{}
}

// overflowName is passed to onEvent when the kernel dropped events: every
// watched file may have changed.
const overflowName = "\x00overflow"

// watchDir calls onEvent(name) from one goroutine for every event in dir
// matching mask, in order. The watch is in place when watchDir returns.
func watchDir(dir string, mask uint32, onEvent func(name string)) (*dirWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, mask); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("inotify watch %s: %w", dir, err)
	}
	// A non-blocking fd given to os.NewFile joins Go's poller, so Read
	// parks the goroutine and Close wakes it.
	w := &dirWatch{f: os.NewFile(uintptr(fd), "inotify:"+dir), done: make(chan struct{})}
	go w.read(onEvent)
	return w, nil
}

func (w *dirWatch) read(onEvent func(string)) {
	defer close(w.done)
	buf := make([]byte, 64<<10)
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			return
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			off += unix.SizeofInotifyEvent + int(ev.Len)
			if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
				onEvent(overflowName)
				continue
			}
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			onEvent(string(name))
		}
	}
}

// Close stops the watch and waits for the reader goroutine to finish.
func (w *dirWatch) Close() {
	_ = w.f.Close()
	<-w.done
}
