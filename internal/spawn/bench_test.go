package spawn

import (
	"syscall"
	"testing"
	"time"
)

// BenchmarkStart is one spawn through the shim plus its reaping: the cost
// drover pays per child start. Compare with BenchmarkForkExecDirect.
func BenchmarkStart(b *testing.B) {
	spec := &Spec{Path: "/bin/true", Argv: []string{"true"}, Umask: 0o022}
	for b.Loop() {
		pid, err := Start(spec)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := waitPid(pid, 10*time.Second); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkForkExecDirect starts /bin/true without the shim.
func BenchmarkForkExecDirect(b *testing.B) {
	attr := &syscall.ProcAttr{Files: []uintptr{0, 1, 2}, Sys: &syscall.SysProcAttr{Setpgid: true}}
	for b.Loop() {
		pid, err := syscall.ForkExec("/bin/true", []string{"true"}, attr)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := waitPid(pid, 10*time.Second); err != nil {
			b.Fatal(err)
		}
	}
}
