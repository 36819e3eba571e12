package logfile

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// cpuTime is this process's user+system CPU time.
func cpuTime() time.Duration {
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchPump runs one helper producer through a Pump into a Writer on disk
// and reports throughput and the parent's CPU (the child's is not counted).
func benchPump(b *testing.B, mode string, n, size int, f *LineFormat) {
	benchPumpSink(b, mode, n, size, Sink{Name: "bench", Format: f})
}

// benchPumpSink is benchPump with sink's fields (Log and OnClosed are set
// here).
func benchPumpSink(b *testing.B, mode string, n, size int, sink Sink) {
	dir := b.TempDir()
	w, err := OpenWriter(filepath.Join(dir, "out.log"), 50<<20, 2, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	p := newTestPump(b, nil)
	if d := os.Getenv("PUMP_DELAY"); d != "" {
		p.delay, _ = time.ParseDuration(d)
	}
	r, cmd := startHelper(b, mode, n, size)
	closed := make(chan struct{})
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	sink.Log, sink.OnClosed = w, func() { close(closed) }
	if _, err := p.Add(r, sink); err != nil {
		b.Fatal(err)
	}
	waitClosed(b, closed)
	wall, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	_ = cmd.Wait()
	mb := float64(n*size) / 1e6
	b.ReportMetric(mb/wall.Seconds(), "MB/s")
	b.ReportMetric(float64(cpu.Microseconds())/mb, "cpu-µs/MB")
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "%core")
}

// BenchmarkPumpLines: a child writes 100-byte lines, one write(2) each.
func BenchmarkPumpLines(b *testing.B) {
	b.SetBytes(100)
	benchPump(b, "lines", max(b.N, 1), 100, nil)
}

// BenchmarkPumpBulk: a child writes 64 KiB per write(2).
func BenchmarkPumpBulk(b *testing.B) {
	b.SetBytes(64 << 10)
	benchPump(b, "bulk", max(b.N, 1), 64<<10, nil)
}

// BenchmarkPumpLinesTimestamps and BenchmarkPumpLinesJSON are
// BenchmarkPumpLines with each line formatted (stdout_timestamps,
// stdout_logformat = json; rfc3339ms).
func BenchmarkPumpLinesTimestamps(b *testing.B) {
	b.SetBytes(100)
	benchPump(b, "lines", max(b.N, 1), 100, &LineFormat{Layout: "2006-01-02T15:04:05.000Z07:00"})
}

func BenchmarkPumpLinesJSON(b *testing.B) {
	b.SetBytes(100)
	benchPump(b, "lines", max(b.N, 1), 100, &LineFormat{JSON: true, Layout: "2006-01-02T15:04:05.000Z07:00", Stream: "stdout"})
}

// BenchmarkPumpLinesGoroutine is the same producer read by the alternative
// design (a goroutine blocked in RawConn.Read on Go's netpoller, buffer from
// a pool when readable), for comparison with BenchmarkPumpLines.
func BenchmarkPumpLinesGoroutine(b *testing.B) {
	b.SetBytes(100)
	n, size := max(b.N, 1), 100
	w, err := OpenWriter(filepath.Join(b.TempDir(), "out.log"), 50<<20, 2, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	pool := sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}
	r, cmd := startHelper(b, "lines", n, size)
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	fd, err := dupNonblock(r)
	_ = r.Close()
	if err != nil {
		b.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "pipe")
	defer f.Close()
	rc, _ := f.SyscallConn()
	for eof := false; !eof; {
		if err := rc.Read(func(fd uintptr) bool {
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
		}); err != nil {
			b.Fatal(err)
		}
	}
	wall, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	_ = cmd.Wait()
	mb := float64(n*size) / 1e6
	b.ReportMetric(mb/wall.Seconds(), "MB/s")
	b.ReportMetric(float64(cpu.Microseconds())/mb, "cpu-µs/MB")
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "%core")
}
