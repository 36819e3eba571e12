package spawn

import (
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// reportChildCPU adds the CPU time the reaped children used per op: on a
// loaded machine it is steadier than wall time.
func reportChildCPU(b *testing.B, start unix.Rusage) {
	var end unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_CHILDREN, &end)
	cpu := time.Duration(end.Utime.Nano()+end.Stime.Nano()-start.Utime.Nano()-start.Stime.Nano()) * time.Nanosecond
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "child-cpu-µs/op")
}

// BenchmarkStart is one spawn of /bin/true through the shim plus its
// reaping: the cost drover pays per child start. Compare with
// BenchmarkForkExecDirect (no shim). Note the shim here is the test
// binary, whose package inits are those of the test, not of drover.
func BenchmarkStart(b *testing.B) {
	spec := &Spec{Path: "/bin/true", Argv: []string{"true"}, Umask: 0o022}
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_CHILDREN, &ru)
	for b.Loop() {
		pid, err := Start(spec)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := waitPid(pid, 10*time.Second); err != nil {
			b.Fatal(err)
		}
	}
	reportChildCPU(b, ru)
}

// BenchmarkForkExecDirect starts /bin/true without the shim.
func BenchmarkForkExecDirect(b *testing.B) {
	attr := &syscall.ProcAttr{Files: []uintptr{0, 1, 2}, Sys: &syscall.SysProcAttr{Setpgid: true}}
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_CHILDREN, &ru)
	for b.Loop() {
		pid, err := syscall.ForkExec("/bin/true", []string{"true"}, attr)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := waitPid(pid, 10*time.Second); err != nil {
			b.Fatal(err)
		}
	}
	reportChildCPU(b, ru)
}
