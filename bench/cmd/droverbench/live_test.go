package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestMain lets the test binary run the child modes (the os/exec helper
// process pattern): the tests start it with DROVERBENCH_HELPER=1.
func TestMain(m *testing.M) {
	if os.Getenv("DROVERBENCH_HELPER") == "1" {
		os.Exit(childMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func helper(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "DROVERBENCH_HELPER=1")
	return cmd
}

func TestChildNotifiesThenBlocksUntilKilled(t *testing.T) {
	n, err := listenNotify(filepath.Join(t.TempDir(), "n.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	cmd := helper(t, "child", n.Path)
	before := mono()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	nt, err := waitNote(context.Background(), n, nil, 10*time.Second, func(note) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	if nt.Kind != "start" || nt.Pid != cmd.Process.Pid || nt.Stamp < before || nt.Recv < nt.Stamp {
		t.Fatalf("note %+v, pid %d, before %d", nt, cmd.Process.Pid, before)
	}
	_ = cmd.Process.Kill()
	if err := cmd.Wait(); err == nil {
		t.Fatal("child exited 0 before it was killed")
	}
	if err := n.Fence(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if n.Count() != 1 {
		t.Fatalf("count %d, want 1 (the fence is not counted)", n.Count())
	}
}

func TestBlipExitsZero(t *testing.T) {
	n, err := listenNotify(filepath.Join(t.TempDir(), "n.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := helper(t, "blip", n.Path, "1ms").Run(); err != nil {
		t.Fatal(err)
	}
	if err := n.Fence(5 * time.Second); err != nil || n.Count() != 1 {
		t.Fatalf("count %d, %v", n.Count(), err)
	}
}

func TestProduceWritesWholeLines(t *testing.T) {
	for _, ws := range []int{100, 64 << 10, 7} {
		n, err := listenNotify(filepath.Join(t.TempDir(), "n.sock"))
		if err != nil {
			t.Fatal(err)
		}
		const total = 300_000
		cmd := helper(t, "produce", n.Path, "300000", strconv.Itoa(ws))
		var out bytes.Buffer
		cmd.Stdout = &out
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		n.Close()
		b := out.Bytes()
		if len(b) != total {
			t.Fatalf("ws %d: %d bytes, want %d", ws, len(b), total)
		}
		if !bytes.Equal(b, lineBuffer(total)) {
			t.Fatalf("ws %d: output is not a stream of 100-byte lines", ws)
		}
	}
}

func TestChildModesRejectBadArguments(t *testing.T) {
	for _, args := range [][]string{{"child"}, {"blip", "s"}, {"blip", "s", "xx"}, {"produce", "s", "-1", "100"}, {"produce", "s", "10", "0"}} {
		if code := childMain(args); code != 2 {
			t.Errorf("childMain(%q) = %d, want 2", args, code)
		}
	}
}

func TestMainLogFollowsAppends(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "main.log")
	l, err := followMainLog(path) // before the file exists, like a daemon's
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// A line split across two writes counts once, when complete.
	if _, err := f.WriteString("2026-01-01 00:00:00,000 INFO spawned: 'a' with pid 7\n2026-01-01 00:00:00,001 INFO success: a entered RUN"); err != nil {
		t.Fatal(err)
	}
	if err := l.Wait(ctx, nil, func(s *logState) bool { _, ok := s.Spawned[7]; return ok }); err != nil {
		t.Fatal(err)
	}
	if c := l.Counts(); c[kindSuccess] != 0 {
		t.Fatalf("partial line counted: %v", c)
	}
	if _, err := f.WriteString("NING state, process has stayed up\n"); err != nil {
		t.Fatal(err)
	}
	if err := l.Wait(ctx, nil, func(s *logState) bool { return len(s.Success) == 1 }); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	close(exited)
	if err := l.Wait(ctx, exited, func(s *logState) bool { return len(s.Success) == 2 }); err != errDaemonExited {
		t.Fatalf("wait after exit = %v", err)
	}
}

func TestSizeTrackerFollowsRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "prod.log")
	tr := newSizeTracker(path, 1, 350)
	defer tr.close()
	seen := make(chan struct{}, 1)
	w, err := watchDir(dir, inotifyFileMask, func(string) {
		tr.update()
		select {
		case seen <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	waitBytes := func(want int64) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for tr.bytes() != want {
			select {
			case <-seen:
			case <-tr.full:
			case <-deadline:
				t.Fatalf("tracker saw %d bytes, want %d", tr.bytes(), want)
			}
		}
	}
	write := func(n int) {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(make([]byte, n)); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	rotate := func() { // as supervisord does with backups=1
		_ = os.Remove(path + ".1")
		if err := os.Rename(path, path+".1"); err != nil {
			t.Fatal(err)
		}
	}
	write(100)
	waitBytes(100)
	rotate()
	write(100)
	waitBytes(200)
	rotate() // the first file is deleted now: its bytes still count
	write(100)
	waitBytes(300)
	write(50)
	select {
	case <-tr.full:
	case <-time.After(10 * time.Second):
		t.Fatalf("tracker saw %d of 350 bytes", tr.bytes())
	}
	if got := tr.bytes(); got != 350 {
		t.Fatalf("tracker saw %d bytes, want 350", got)
	}
}
