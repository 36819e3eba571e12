package daemon_test

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/testenv"
)

// 1,100 idle TCP connections that never authenticate, against a daemon
// with nofile 1024: the control API keeps answering on the unix socket
// and a program that exits every 1.5 s keeps being respawned (its pipes
// still get descriptors), instead of accept failing with EMFILE, status
// hanging and the program going FATAL on "pipe: EMFILE".
func TestConnectionFloodStarvesNothing(t *testing.T) {
	prlimit := testenv.LookPath(t, "prlimit", "apt-get install util-linux")
	port := freePort(t)
	inet := fmt.Sprintf("[inet_http_server]\nport = 127.0.0.1:%d\nusername = u\npassword = p\n\n", port)
	f := startWith(t, inet+program("flap", "live:1500ms", "startsecs = 1", "autorestart = true"),
		[]string{prlimit, "--nofile=1024:1024"})
	f.waitLine(`success: flap entered RUNNING`)

	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 1100 {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
		if err != nil {
			break // the backlog is full: the flood is as big as it gets
		}
		conns = append(conns, c)
	}
	t.Logf("%d connections open", len(conns))
	m := f.mark()
	// Three respawns under the flood, each answered over the unix socket.
	for i := range 3 {
		f.waitLineAfter(m, `spawned: 'flap'`)
		f.waitLineAfter(m, `success: flap entered RUNNING`)
		m = f.mark()
		t0 := time.Now()
		in := f.info("flap")
		if took := time.Since(t0); took > 5*time.Second {
			t.Fatalf("getProcessInfo took %v under the flood", took)
		}
		if in["statename"] != "RUNNING" {
			t.Fatalf("respawn %d: %v", i, in)
		}
	}
	if log := f.log(); strings.Contains(log, "EMFILE") || strings.Contains(log, "gave up: flap") {
		t.Fatalf("descriptors ran out:\n%s", log)
	}
	// The daemon holds no more than its cap of them.
	out, err := exec.Command("ls", fmt.Sprintf("/proc/%d/fd", f.cmd.Process.Pid)).Output()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(string(out))); n > 400 {
		t.Fatalf("the daemon holds %d descriptors during the flood", n)
	} else {
		t.Logf("the daemon holds %d descriptors during the flood", n)
	}
}
