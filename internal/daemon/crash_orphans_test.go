package daemon

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// A process whose stdout is the kept pipe is killed; one whose stdout is
// another pipe (a reused pid, say) is left alone.
func TestKillOrphanChecksThePipe(t *testing.T) {
	start := func() (*os.Process, *os.File) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		p, err := os.StartProcess("/bin/sleep", []string{"sleep", "60"}, &os.ProcAttr{
			Files: []*os.File{nil, w, w}, Sys: &syscall.SysProcAttr{Setpgid: true}})
		w.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Kill(); _, _ = p.Wait(); r.Close() })
		return p, r
	}
	orphan, kept := start()
	other, _ := start()

	if got := killOrphan("pid:"+strconv.Itoa(other.Pid), keptItem{labels: []string{"1"}, fds: []int{int(kept.Fd())}}); got != "" {
		t.Errorf("a process on another pipe: %q", got)
	}
	if got := killOrphan("sock:g:web", keptItem{labels: []string{"1"}, fds: []int{int(kept.Fd())}}); got != "" {
		t.Errorf("a socket key: %q", got)
	}
	got := killOrphan("pid:"+strconv.Itoa(orphan.Pid), keptItem{labels: []string{"0", "1"}, fds: []int{-1, int(kept.Fd())}})
	if !strings.HasPrefix(got, "killed pid "+strconv.Itoa(orphan.Pid)) {
		t.Fatalf("killOrphan: %q", got)
	}
	// The test's own child (no reaper runs in this test binary).
	st, err := orphan.Wait()
	if err != nil || st.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the orphan: %v, %v", st, err)
	}
	if err := other.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the other process was hit: %v", err)
	}
}
