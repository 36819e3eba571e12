package daemon

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// startTree starts sh with n-1 sleeping children (sh then becomes a sleep too)
// and returns once sh said
// it forked them all.
func startTree(tb testing.TB, n int) *exec.Cmd {
	tb.Helper()
	script := strings.Repeat("sleep 600 & ", n-1) + "echo forked; exec sleep 600"
	cmd := exec.Command("sh", "-c", script)
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		for _, pid := range childPids(cmd.Process.Pid) {
			_ = killPid(pid)
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "forked\n" {
		tb.Fatalf("sh said %q, %v", line, err)
	}
	return cmd
}

func childPids(pid int) []int {
	kids, _ := scanProcs()
	return kids[pid]
}

func killPid(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

func TestSampleTrees(t *testing.T) {
	sh := startTree(t, 3)
	pid := sh.Process.Pid
	got := sampleTrees([]int{pid, 1 << 30}, int64(os.Getpagesize()))
	if _, ok := got[1<<30]; ok || len(got) != 1 {
		t.Errorf("a root that does not exist was sampled: %v", got)
	}
	tree := got[pid]
	if len(tree) != 3 || tree[0].Pid != pid {
		t.Fatalf("tree of sh and 2 sleeps: %+v", tree)
	}
	// (A process in the middle of its exec has no pages for a moment.)
	for _, u := range tree {
		if u.RSS < 0 || u.RSS%int64(os.Getpagesize()) != 0 || u.CPU < 0 {
			t.Errorf("usage %+v", u)
		}
	}
	// Since Linux 6.2 the stat line's RSS is the kernel's approximate
	// (per-CPU batched) counter: a just-exec'd sleep may read 0. The test
	// binary itself holds megabytes, well past that error.
	if self := sampleTrees([]int{os.Getpid()}, int64(os.Getpagesize()))[os.Getpid()]; self.RSS() < 1<<20 {
		t.Errorf("no RSS for the test process itself: %+v", self)
	}
	if tree.RSS() != tree[0].RSS+tree[1].RSS+tree[2].RSS {
		t.Errorf("RSS sum %d", tree.RSS())
	}
	// The test's own tree holds sh's: a deeper walk.
	self := sampleTrees([]int{os.Getpid()}, 4096)[os.Getpid()]
	n := 0
	for _, u := range self {
		for _, x := range tree {
			if u.Pid == x.Pid {
				n++
			}
		}
	}
	if n != 3 {
		t.Errorf("own tree %+v lacks sh's", self)
	}
}

// BenchmarkSampleTrees is the watchdog's cost per sample of one tree of N
// processes (docs/config.md quotes it). Without the kernel's children lists
// a sample reads every process's stat on the machine, whatever N.
func BenchmarkSampleTrees(b *testing.B) {
	_, fast := childrenOf(os.Getpid())
	b.Logf("children lists: %v; processes on the machine: %d", fast, len(allPids()))
	for _, n := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("procs=%d", n), func(b *testing.B) {
			sh := startTree(b, n)
			roots := []int{sh.Process.Pid}
			page := int64(os.Getpagesize())
			b.ResetTimer()
			for b.Loop() {
				if len(sampleTrees(roots, page)[roots[0]]) != n {
					b.Fatal("tree changed")
				}
			}
		})
	}
}

// BenchmarkSampleTreesScan is a sample's cost without the kernel's children
// lists (CONFIG_PROC_CHILDREN off): one stat read per process on the
// machine.
func BenchmarkSampleTreesScan(b *testing.B) {
	b.Logf("processes on the machine: %d", len(allPids()))
	for b.Loop() {
		if kids, _ := scanProcs(); len(kids) == 0 {
			b.Fatal("no processes")
		}
	}
}
