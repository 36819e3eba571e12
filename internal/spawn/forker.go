package spawn

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// Forkers fork and exec children from threads whose descriptor table is
// nearly empty. A fork copies the calling thread's table and the exec then
// closes each close-on-exec entry of the copy again: a daemon running 500
// programs holds ~2,500 descriptors (their pipes and log files), which
// made every fork+exec ~14 % slower on the bench machine (500 fork+execs
// of sleep on 4 threads: 0.358 s holding 2,500 pipe ends, 0.309 s from
// threads with private tables, 0.308 s holding none; means of 5, same run).
//
// A forker is a goroutine locked to its OS thread for good, which unshared
// its descriptor table (unshare CLONE_FILES) and closed the copies in it,
// which would keep the daemon's sockets and pipes open after it closed
// them, but stdio and the runtime's poller (closeCopies). For each fork it
// takes the child's descriptors from the daemon's table (pidfd_getfd on
// its own pid), forks, and closes them. A locked thread runs no other
// goroutine.
//
// Without unshare or pidfd_getfd (Linux before 5.6, a seccomp filter) a
// fork runs on the calling thread, as syscall.ForkExec does.
type Forkers struct {
	reqs chan forkReq
	quit chan struct{} // closed by Close
	off  atomic.Bool   // pidfd_getfd failed: fork on the caller's thread
	once sync.Once
	wg   sync.WaitGroup
}

type forkReq struct {
	argv0 string
	argv  []string
	attr  *syscall.ProcAttr
	done  chan forkResult
}

type forkResult struct {
	pid int
	err error
}

// errNoForker: the forker cannot take the descriptors; the caller forks.
var errNoForker = errors.New("forker unavailable")

// NewForkers starts n forkers; nil (fork on the caller's thread) when
// none could be started.
func NewForkers(n int) *Forkers {
	// The runtime's poller must exist before a table is split off, for
	// the forker's copy to hold it (closeCopies): a pipe in an *os.File
	// starts it, if nothing did yet.
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}
	f := &Forkers{reqs: make(chan forkReq), quit: make(chan struct{})}
	started := 0
	for range n {
		ready := make(chan error, 1)
		f.wg.Add(1)
		go f.run(ready)
		if <-ready == nil {
			started++
		}
	}
	if started == 0 {
		f.Close()
		return nil
	}
	return f
}

// Close ends the forkers (their threads exit with them); later forks run
// on the caller's thread.
func (f *Forkers) Close() {
	if f == nil {
		return
	}
	f.once.Do(func() { close(f.quit) })
	f.wg.Wait()
}

func (f *Forkers) run(ready chan<- error) {
	defer f.wg.Done()
	// Never unlocked: the thread, and its private table, end with this
	// goroutine.
	runtime.LockOSThread()
	if unix.Gettid() == os.Getpid() {
		// The main thread, whose table pidfd_getfd reads: it must keep
		// the process's. While this goroutine holds it, another one
		// becomes the forker, on another thread.
		inner := make(chan error, 1)
		f.wg.Add(1)
		go f.run(inner)
		ready <- <-inner
		runtime.UnlockOSThread()
		return
	}
	self := -1
	err := unix.Unshare(unix.CLONE_FILES)
	if err == nil {
		err = closeCopies()
	}
	if err == nil {
		self, err = unix.PidfdOpen(os.Getpid(), 0)
	}
	ready <- err
	if err != nil {
		return
	}
	defer unix.Close(self)
	for {
		select {
		case r := <-f.reqs:
			pid, err := forkFrom(self, r)
			r.done <- forkResult{pid, err}
		case <-f.quit:
			return
		}
	}
}

// closeCopies closes the copies in a forker's new table of everything
// but stdio and the runtime's network poller (an epoll instance and its
// eventfd), which any thread may use: a garbage collection that this
// thread starts restarts the world with a poll. Drover's own log pump
// (an epoll and an eventfd too) keeps a copy here, which holds nothing
// open but those two.
func closeCopies() error {
	ents, err := os.ReadDir("/proc/thread-self/fd")
	if err != nil {
		return err
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < 3 {
			continue
		}
		target, err := os.Readlink("/proc/thread-self/fd/" + e.Name())
		if err != nil {
			continue // the directory's own fd, closed by now
		}
		if target == "anon_inode:[eventpoll]" || target == "anon_inode:[eventfd]" {
			continue
		}
		unix.Close(fd)
	}
	return nil
}

// forkFrom runs one fork+exec on the forker's thread with copies of the
// request's descriptors.
func forkFrom(self int, r forkReq) (int, error) {
	attr := *r.attr
	attr.Files = make([]uintptr, len(r.attr.Files))
	var mine []int
	defer func() {
		for _, fd := range mine {
			unix.Close(fd)
		}
	}()
	for i, fd := range r.attr.Files {
		if fd == ^uintptr(0) { // closed in the child, as ForkExec reads it
			attr.Files[i] = fd
			continue
		}
		nfd, err := unix.PidfdGetfd(self, int(fd), 0)
		if err != nil {
			return 0, fmt.Errorf("%w: pidfd_getfd: %w", errNoForker, err)
		}
		mine = append(mine, nfd)
		attr.Files[i] = uintptr(nfd)
	}
	if forkHook != nil {
		forkHook()
	}
	return syscall.ForkExec(r.argv0, r.argv, &attr)
}

// forkHook, set by tests, runs on the forker's thread before each fork.
var forkHook func()

// ForkExec is syscall.ForkExec on a forker's thread (on the caller's
// with f nil, closed or unable to take descriptors). attr.Files name
// descriptors of the daemon's table, open until ForkExec returns.
func (f *Forkers) ForkExec(argv0 string, argv []string, attr *syscall.ProcAttr) (int, error) {
	if f == nil || f.off.Load() {
		return syscall.ForkExec(argv0, argv, attr)
	}
	done := make(chan forkResult, 1)
	select {
	case f.reqs <- forkReq{argv0, argv, attr, done}:
	case <-f.quit:
		return syscall.ForkExec(argv0, argv, attr)
	}
	res := <-done
	if errors.Is(res.err, errNoForker) {
		// Refused by the kernel (before 5.6) or a seccomp filter (a
		// container's may): for good. Anything else (a descriptor
		// closed meanwhile) fails again on this thread.
		if errors.Is(res.err, unix.ENOSYS) || errors.Is(res.err, unix.EPERM) || errors.Is(res.err, unix.EACCES) {
			f.off.Store(true)
		}
		return syscall.ForkExec(argv0, argv, attr)
	}
	return res.pid, res.err
}
