package spawn

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The reaper owns every child of its process and SIGCHLD, and
// BecomeSubreaper cannot be undone: the reaper tests run in a subprocess
// of the test binary, so the other tests (which wait for their own pids)
// never race with it.
const reaperChildEnv = "DROVER_SPAWN_REAPER_CHILD"

func runInSubprocess(t *testing.T, test string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^"+test+"$", "-test.count=1", "-test.v", "-test.timeout=120s")
	cmd.Env = append(os.Environ(), reaperChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+test) {
		t.Fatalf("subprocess %s: %v\n%s", test, err, out)
	}
	t.Logf("subprocess:\n%s", out)
}

func TestReaper(t *testing.T) {
	if os.Getenv(reaperChildEnv) == "" {
		runInSubprocess(t, "TestReaper")
		return
	}
	if err := BecomeSubreaper(); err != nil {
		t.Fatal(err)
	}
	r := NewReaper(0)
	exits := r.Exits()
	defer r.Stop()

	t.Run("200 concurrent children", func(t *testing.T) { reap200(t, exits) })
	t.Run("orphan grandchild", func(t *testing.T) { reapOrphan(t, exits) })
	t.Run("stop", func(t *testing.T) {
		r.Stop()
		r.Stop() // idempotent
		if _, open := <-exits; open {
			t.Fatal("Exits still open after Stop")
		}
		pid, err := Start(&Spec{Path: "/bin/sh", Argv: []string{"sh", "-c", "exit 3"}, Umask: -1})
		if err != nil {
			t.Fatal(err)
		}
		// Nobody reaps now: the exit must still be there for us.
		if ws, err := waitPid(pid, 10*time.Second); err != nil || ws.ExitStatus() != 3 {
			t.Fatalf("after Stop: status %v err %v", ws, err)
		}
	})
}

type expect struct {
	code int         // exit code, or -1 when killed
	sig  unix.Signal // the signal when code is -1
}

func reap200(t *testing.T, exits <-chan Exit) {
	const n = 200
	want := make(map[int]expect, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			script, e := fmt.Sprintf("exit %d", i%256), expect{code: i % 256}
			switch i % 5 {
			case 3:
				script, e = "kill -9 $$", expect{code: -1, sig: unix.SIGKILL}
			case 4:
				script, e = "kill -TERM $$", expect{code: -1, sig: unix.SIGTERM}
			}
			pid, err := Start(&Spec{Path: "/bin/sh", Argv: []string{"sh", "-c", script}, Umask: -1})
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			want[pid] = e
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Start: %v", err)
	}
	if len(want) != n {
		t.Fatalf("%d distinct pids for %d starts", len(want), n)
	}
	got := map[int]Exit{}
	deadline := time.After(60 * time.Second)
	for len(got) < n {
		select {
		case e := <-exits:
			if _, ok := want[e.Pid]; !ok {
				t.Errorf("exit of unknown pid %d (%v)", e.Pid, e.Status)
				continue
			}
			if _, dup := got[e.Pid]; dup {
				t.Errorf("pid %d reported twice", e.Pid)
			}
			got[e.Pid] = e
		case <-deadline:
			t.Fatalf("only %d of %d exits after 60s", len(got), n)
		}
	}
	for pid, e := range got {
		w := want[pid]
		switch {
		case w.code >= 0 && (!e.Status.Exited() || e.Status.ExitStatus() != w.code):
			t.Errorf("pid %d: status %v, want exit %d", pid, e.Status, w.code)
		case w.code < 0 && (!e.Status.Signaled() || e.Status.Signal() != w.sig):
			t.Errorf("pid %d: status %v, want killed by %v", pid, e.Status, w.sig)
		}
	}
	if z := zombies(); len(z) > 0 {
		t.Errorf("zombie children left: %v", z)
	}
}

// zombies lists this process's children in state Z.
func zombies() []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + ent.Name() + "/stat")
		if err != nil {
			continue
		}
		state, ppid := statFields(string(b))
		if ppid == os.Getpid() && state == "Z" {
			out = append(out, pid)
		}
	}
	return out
}

// statFields returns the state and ppid of a /proc/<pid>/stat line.
func statFields(stat string) (string, int) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return "", 0
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 2 {
		return "", 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return f[0], ppid
}

func reapOrphan(t *testing.T, exits <-chan Exit) {
	gateR, gateW, _ := os.Pipe()
	defer gateW.Close()
	outR, outW, _ := os.Pipe()
	defer outR.Close()
	pid, err := Start(&Spec{Path: helperPath(t), Argv: []string{"helper", "__helper", "orphan"},
		Stdin: gateR, Stdout: outW, Umask: -1})
	gateR.Close()
	outW.Close()
	if err != nil {
		t.Fatal(err)
	}
	_ = outR.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(outR).ReadString('\n')
	if err != nil {
		t.Fatalf("grandchild pid: %v", err)
	}
	gc, _ := strconv.Atoi(strings.TrimSpace(line))
	next := func() Exit {
		select {
		case e := <-exits:
			return e
		case <-time.After(10 * time.Second):
			t.Fatal("no exit within 10s")
		}
		return Exit{}
	}
	if e := next(); e.Pid != pid || e.Status.ExitStatus() != 0 {
		t.Fatalf("first exit %+v, want the child %d with status 0", e, pid)
	}
	// The child is gone: its orphan now belongs to us, the subreaper.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", gc))
	if err != nil {
		t.Fatalf("grandchild %d: %v", gc, err)
	}
	if _, ppid := statFields(string(b)); ppid != os.Getpid() {
		t.Fatalf("orphan %d re-parented to %d, want the subreaper %d", gc, ppid, os.Getpid())
	}
	gateW.Close() // cat reads EOF and exits
	if e := next(); e.Pid != gc || !e.Status.Exited() {
		t.Fatalf("second exit %+v, want the orphan %d", e, gc)
	}
}

func TestExitDescribe(t *testing.T) {
	for _, tc := range []struct {
		ws   unix.WaitStatus
		code int
		msg  string
	}{
		{0, 0, "exit status 0"},
		{2 << 8, 2, "exit status 2"},
		{255 << 8, 255, "exit status 255"},
		{unix.WaitStatus(unix.SIGTERM), -1, "terminated by SIGTERM"},
		{unix.WaitStatus(unix.SIGSEGV) | 0x80, -1, "terminated by SIGSEGV (core dumped)"},
		{unix.WaitStatus(40), -1, "terminated by signal 40"},
		{0x137f, -1, "unknown termination cause 0x137f"}, // stopped by SIGSTOP
	} {
		code, msg := Exit{Status: tc.ws}.Describe()
		if code != tc.code || msg != tc.msg {
			t.Errorf("%#x: got %d %q, want %d %q", uint32(tc.ws), code, msg, tc.code, tc.msg)
		}
	}
}
