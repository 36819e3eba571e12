package daemon_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// statePid waits until the state file (<pidfile>.state) names pid for
// process name, watching its directory with inotify (the file is replaced
// by a rename); it fails the test after 10 s with what the file said.
func statePid(t *testing.T, f *fixture, name string, pid int) {
	t.Helper()
	path := filepath.Join(f.dir, "drover.pid.state")
	in, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(in)
	if _, err := unix.InotifyAddWatch(in, f.dir, unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	var last string
	for {
		b, _ := os.ReadFile(path)
		var st struct {
			Procs []struct {
				Name string `json:"name"`
				Pid  int    `json:"pid"`
			} `json:"procs"`
		}
		if json.Unmarshal(b, &st) == nil {
			for _, p := range st.Procs {
				if p.Name == name {
					if p.Pid == pid {
						return
					}
					last = fmt.Sprint(p.Pid)
				}
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("the state file names pid %s for %s, want %d", last, name, pid)
		}
		fds := []unix.PollFd{{Fd: int32(in), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, int(left.Milliseconds())+1); err != nil && err != unix.EINTR {
			t.Fatal(err)
		}
		var buf [4096]byte
		_, _ = unix.Read(in, buf[:])
	}
}

// A blue/green reload changes the serving pid without a state change
// (RUNNING throughout): the state file must follow it, or a crash after
// the reload would leave the new generation orphaned and start a second
// copy.
func TestStateFileFollowsBlueGreenReload(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	f := start(t, fmt.Sprintf("[program:web]\ncommand = %s demo-app --listen 127.0.0.1:1\n"+
		"sockets = tcp://%s\nreload = bluegreen\nready = log:demo app: pid [0-9]+ serving\n"+
		"graceful_stop_signal = TERM\nstartsecs = 0\n", droverBin, addr))
	f.waitLine(`success: web entered RUNNING state, its readiness probe`)
	old := f.info("web")["pid"].(int)
	statePid(t, f, "web", old)
	f.call("drover.reloadProcess", "web")
	now := f.info("web")["pid"].(int)
	if now == old {
		t.Fatalf("pid %d after the reload, want a new generation", now)
	}
	statePid(t, f, "web", now)
}
