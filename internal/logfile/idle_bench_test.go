package logfile

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const idlePipes = 1000

// rssBytes reads VmRSS from /proc/self/status.
func rssBytes(tb testing.TB) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	tb.Fatal("no VmRSS")
	return 0
}

func heapBytes() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// idleSetup makes n pipes whose write ends stay open (as a live child's
// would) and n Writers (one per pipe, as 500 programs × stdout+stderr).
// The write fds are raw ints so they add nothing to the Go heap.
func idleSetup(b *testing.B, n int) (reads []*os.File, writers []*Writer, wfds []int) {
	dir := b.TempDir()
	for i := range n {
		var fds [2]int
		if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
			b.Fatal(err)
		}
		reads = append(reads, os.NewFile(uintptr(fds[0]), "pipe"))
		wfds = append(wfds, fds[1])
		w, err := OpenWriter(filepath.Join(dir, strconv.Itoa(i)+".log"), 50<<20, 10, nil)
		if err != nil {
			b.Fatal(err)
		}
		writers = append(writers, w)
	}
	b.Cleanup(func() {
		for _, fd := range wfds {
			_ = unix.Close(fd)
		}
		for _, w := range writers {
			_ = w.Close()
		}
	})
	return reads, writers, wfds
}

// BenchmarkIdlePipesPump reports the heap and RSS added by registering
// 1,000 idle pipes with the epoll Pump (Writers created beforehand and not
// counted: the daemon holds those in any design).
func BenchmarkIdlePipesPump(b *testing.B) {
	for range b.N {
		reads, writers, _ := idleSetup(b, idlePipes)
		p := newTestPump(b, nil)
		h0, r0 := heapBytes(), rssBytes(b)
		for i, r := range reads {
			if _, err := p.Add(r, Sink{Name: "p" + strconv.Itoa(i), Log: writers[i]}); err != nil {
				b.Fatal(err)
			}
		}
		// One round trip through the loop so it has taken every pipe in.
		r, w, _ := os.Pipe()
		done := make(chan struct{})
		_, _ = p.Add(r, Sink{OnClosed: func() { close(done) }})
		_ = w.Close()
		<-done
		h1, r1 := heapBytes(), rssBytes(b)
		b.ReportMetric(float64(h1-h0)/idlePipes, "heap-B/pipe")
		b.ReportMetric(float64(r1-r0)/idlePipes, "rss-B/pipe")
		b.ReportMetric(float64(r1)/(1<<20), "rss-MiB-total")
		runtime.KeepAlive(writers)
	}
}

// BenchmarkIdlePipesGoroutine is the alternative design for comparison: a
// goroutine per pipe blocked in RawConn.Read on Go's netpoller, taking a
// buffer from a pool only when the pipe is readable.
func BenchmarkIdlePipesGoroutine(b *testing.B) {
	pool := sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}
	for range b.N {
		reads, writers, _ := idleSetup(b, idlePipes)
		h0, r0 := heapBytes(), rssBytes(b)
		var wg sync.WaitGroup
		files := make([]*os.File, 0, len(reads))
		for i, r := range reads {
			fd, err := dupNonblock(r)
			_ = r.Close()
			if err != nil {
				b.Fatal(err)
			}
			f := os.NewFile(uintptr(fd), "pipe") // pollable: non-blocking
			files = append(files, f)
			wg.Add(1)
			go func(w *Writer) {
				defer wg.Done()
				rc, _ := f.SyscallConn()
				for {
					eof := false
					err := rc.Read(func(fd uintptr) bool {
						bp := pool.Get().(*[]byte)
						buf := *bp
						defer pool.Put(bp)
						n, err := unix.Read(int(fd), buf)
						if err == unix.EAGAIN {
							return false
						}
						if n <= 0 {
							eof = true
							return true
						}
						_, _ = w.Write(buf[:n])
						return true
					})
					if eof || err != nil {
						return
					}
				}
			}(writers[i])
		}
		runtime.Gosched()
		h1, r1 := heapBytes(), rssBytes(b)
		b.ReportMetric(float64(h1-h0)/idlePipes, "heap-B/pipe")
		b.ReportMetric(float64(r1-r0)/idlePipes, "rss-B/pipe")
		b.ReportMetric(float64(r1)/(1<<20), "rss-MiB-total")
		for _, f := range files {
			_ = f.Close()
		}
		wg.Wait()
	}
}

// ctxSwitches sums voluntary and involuntary context switches over every
// thread of this process: each wake-up of a blocked thread counts one.
func ctxSwitches(tb testing.TB) int64 {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		tb.Fatal(err)
	}
	var total int64
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + t.Name() + "/status")
		if err != nil {
			continue
		}
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "voluntary_ctxt_switches:"); ok {
				n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				total += n
			} else if v, ok := strings.CutPrefix(line, "nonvoluntary_ctxt_switches:"); ok {
				n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				total += n
			}
		}
	}
	return total
}

// BenchmarkIdleWakeups reports the context switches of the whole test
// process during 2 s with 1,000 idle pipes registered: the Pump itself
// blocks in epoll_wait with no timeout, so what remains is the Go runtime
// and the benchmark's own timer.
func BenchmarkIdleWakeups(b *testing.B) {
	for range b.N {
		reads, writers, _ := idleSetup(b, idlePipes)
		p := newTestPump(b, nil)
		for i, r := range reads {
			if _, err := p.Add(r, Sink{Log: writers[i]}); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		tid := epollThread(b, p.epfd)
		c0, t0 := ctxSwitches(b), threadSwitches(b, tid)
		time.Sleep(2 * time.Second) // measuring idleness, not synchronising
		c1, t1 := ctxSwitches(b), threadSwitches(b, tid)
		b.ReportMetric(float64(c1-c0)/2, "process-wakeups/s")
		b.ReportMetric(float64(t1-t0)/2, "pump-thread-wakeups/s")
	}
}

// epollThread finds the thread blocked in epoll_pwait on the Pump's epoll
// fd (Go's netpoller waits on another) from /proc/self/task/*/syscall.
func epollThread(tb testing.TB, epfd int) string {
	want := []string{strconv.Itoa(unix.SYS_EPOLL_PWAIT), "0x" + strconv.FormatInt(int64(epfd), 16)}
	for range 100 { // the loop may still be busy taking the pipes in
		tasks, _ := os.ReadDir("/proc/self/task")
		for _, t := range tasks {
			b, _ := os.ReadFile("/proc/self/task/" + t.Name() + "/syscall")
			if f := strings.Fields(string(b)); len(f) > 1 && f[0] == want[0] && f[1] == want[1] {
				return t.Name()
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	tb.Skip("no thread in epoll_wait found")
	return ""
}

func threadSwitches(tb testing.TB, tid string) int64 {
	b, err := os.ReadFile("/proc/self/task/" + tid + "/status")
	if err != nil {
		tb.Fatal(err)
	}
	var total int64
	for line := range strings.SplitSeq(string(b), "\n") {
		for _, k := range []string{"voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:"} {
			if v, ok := strings.CutPrefix(line, k); ok {
				n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				total += n
			}
		}
	}
	return total
}
