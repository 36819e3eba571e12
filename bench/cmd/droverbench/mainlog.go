package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// lineKind classifies a main-log line by supervisord's process messages.
type lineKind int

const (
	kindOther   lineKind = iota
	kindSpawned          // spawned: 'NAME' with pid N
	kindSuccess          // success: NAME entered RUNNING state, ...
	kindExited           // exited: NAME (exit status N; expected) / (terminated by SIGKILL; not expected)
	kindStopped          // stopped: NAME (...)
	kindGaveUp           // gave up: NAME entered FATAL state, ...
	kindStarted          // supervisord started with pid N (the daemon serves from here)
	numKinds
)

var kindPrefixes = [numKinds]string{"", "spawned: ", "success: ", "exited: ", "stopped: ", "gave up: ", "supervisord started with pid "}

// classify returns the kind of a main-log line ("YYYY-MM-DD HH:MM:SS,mmm
// LEVEL message") and, for spawned lines, the pid.
func classify(line string) (lineKind, int) {
	f := strings.SplitN(line, " ", 4)
	if len(f) < 4 {
		return kindOther, 0
	}
	msg := f[3]
	for k := kindSpawned; k < numKinds; k++ {
		if !strings.HasPrefix(msg, kindPrefixes[k]) {
			continue
		}
		if k != kindSpawned {
			return k, 0
		}
		_, after, ok := strings.Cut(msg, " with pid ")
		if !ok {
			return k, 0
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(after))
		return k, pid
	}
	return kindOther, 0
}

// successName is NAME in "... success: NAME entered RUNNING state, ...".
func successName(line string) string {
	_, after, _ := strings.Cut(line, kindPrefixes[kindSuccess])
	name, _, _ := strings.Cut(after, " ")
	return name
}

// logState is what the harness knows of a main log so far.
type logState struct {
	Counts  [numKinds]int
	Success []int64       // read stamp of each success line, in order
	Spawned map[int]int64 // pid → read stamp of its spawned line
	// SpawnedAt is the read stamp of each spawned line, in order.
	SpawnedAt []int64
	// SuccessBy counts success lines by program name.
	SuccessBy map[string]int
	Lines     int
}

// mainLog follows a daemon's main log with inotify and counts its lines.
type mainLog struct {
	path    string
	w       *dirWatch
	mu      sync.Mutex
	f       *os.File
	buf     []byte
	partial []byte
	st      logState
	changed chan struct{} // signalled (cap 1) after every batch of lines
	readErr error
}

// followMainLog starts watching path (it need not exist yet).
func followMainLog(path string) (*mainLog, error) {
	l := &mainLog{path: path, changed: make(chan struct{}, 1), st: logState{Spawned: map[int]int64{}, SuccessBy: map[string]int{}}}
	base := filepath.Base(path)
	w, err := watchDir(filepath.Dir(path), inotifyFileMask,
		func(name string) {
			if name == base || name == overflowName {
				l.CatchUp()
			}
		})
	if err != nil {
		return nil, err
	}
	l.w = w
	l.CatchUp()
	return l, nil
}

// CatchUp reads whatever the file holds beyond what was read. The watch
// calls it on every event; callers call it once more after the daemon died.
func (l *mainLog) CatchUp() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		f, err := os.Open(l.path)
		if err != nil {
			return // not created yet
		}
		l.f = f
	}
	if l.buf == nil {
		l.buf = make([]byte, 64<<10)
	}
	got := false
	for {
		n, err := l.f.Read(l.buf)
		if n > 0 {
			l.take(l.buf[:n], mono())
			got = true
		}
		if errors.Is(err, io.EOF) || n == 0 {
			break
		}
		if err != nil {
			l.readErr = err
			break
		}
	}
	if got {
		select {
		case l.changed <- struct{}{}:
		default:
		}
	}
}

// take splits data into lines; stamp is when it was read.
func (l *mainLog) take(data []byte, stamp int64) {
	l.partial = append(l.partial, data...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return
		}
		line := string(l.partial[:i])
		l.partial = l.partial[i+1:]
		l.st.Lines++
		k, pid := classify(line)
		l.st.Counts[k]++
		switch k {
		case kindSuccess:
			l.st.Success = append(l.st.Success, stamp)
			l.st.SuccessBy[successName(line)]++
		case kindSpawned:
			l.st.SpawnedAt = append(l.st.SpawnedAt, stamp)
			if pid > 0 {
				l.st.Spawned[pid] = stamp
			}
		}
	}
}

// errDaemonExited means the daemon died while the harness waited for it.
var errDaemonExited = errors.New("daemon exited")

// Wait returns when cond (called under the log's lock) holds, the daemon
// exits (closes exited), or ctx ends.
func (l *mainLog) Wait(ctx context.Context, exited <-chan struct{}, cond func(*logState) bool) error {
	for {
		l.mu.Lock()
		ok := cond(&l.st)
		l.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-l.changed:
		case <-exited:
			l.CatchUp()
			l.mu.Lock()
			ok := cond(&l.st)
			l.mu.Unlock()
			if ok {
				return nil
			}
			return errDaemonExited
		case <-ctx.Done():
			return fmt.Errorf("waiting on the main log: %w", ctx.Err())
		}
	}
}

// Counts returns a copy of the line counters.
func (l *mainLog) Counts() [numKinds]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st.Counts
}

// Close stops following the log.
func (l *mainLog) Close() {
	l.w.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		_ = l.f.Close()
	}
}
