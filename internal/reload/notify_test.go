package reload

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func send(t *testing.T, path, msg string) {
	t.Helper()
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
}

// TestNotifyProtocol: READY=1, RELOADING=1, STOPPING=1, STATUS=, MAINPID=
// and several assignments per datagram, sent by the generation itself
// (here the test process is the generation).
func TestNotifyProtocol(t *testing.T) {
	n, err := ListenNotify(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if st, err := os.Stat(n.Path()); err != nil || st.Mode().Perm() != 0o666 || n.Env() != "NOTIFY_SOCKET="+n.Path() {
		t.Fatalf("socket file %v %v", st, err)
	}
	g := Gen{Number: 1, Pid: os.Getpid()}
	wait := func(d time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		return n.Wait(ctx, g)
	}
	send(t, n.Path(), "STATUS=loading app\nMAINPID=4242")
	if err := wait(100 * time.Millisecond); !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "loading app") {
		t.Fatalf("before READY: %v", err)
	}
	send(t, n.Path(), "READY=1\nSTATUS=serving")
	if err := wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if st := n.State(); !st.Ready || st.Status != "serving" || st.MainPID != 4242 || st.Accepted != 2 || st.Refused != 0 {
		t.Errorf("state %+v", st)
	}
	// An in-place reload: Reset, then RELOADING=1 and a fresh READY=1.
	n.Reset()
	send(t, n.Path(), "RELOADING=1")
	if err := wait(100 * time.Millisecond); !errors.Is(err, ErrNotReady) {
		t.Fatalf("reloading: %v", err)
	}
	if !n.State().Reloading {
		t.Error("RELOADING=1 not recorded")
	}
	send(t, n.Path(), "READY=1")
	if err := wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	n.Reset() // so Wait does not return on the READY=1 before STOPPING=1 is read
	send(t, n.Path(), "STOPPING=1")
	if err := wait(10 * time.Second); !errors.Is(err, ErrStopping) {
		t.Fatalf("stopping: %v", err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(n.Path()); !os.IsNotExist(err) {
		t.Error("socket file left after Close")
	}
	if err := n.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestNotifyCredentials: with a real process tree, a READY=1 from a
// process outside the generation (this test process, sent before the
// generation even started) is refused, while the generation's own
// STATUS= and its child's READY=1 count.
func TestNotifyCredentials(t *testing.T) {
	n, err := ListenNotify(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	send(t, n.Path(), "READY=1") // an outsider

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, helperArg, "notify", "STATUS=loading", "child:READY=1")
	cmd.Env = append(os.Environ(), n.Env())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	defer func() {
		stdin.Close() // the helper and its child exit when stdin closes
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Wait(ctx, Gen{Number: 1, Pid: cmd.Process.Pid, Exited: exited}); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "sent\n" {
		t.Fatalf("helper: %q %v", line, err)
	}
	if st := n.State(); !st.Ready || st.Status != "loading" || st.Accepted != 2 || st.Refused != 1 {
		t.Errorf("state %+v", st)
	}
}

// TestNotifyExit: a generation that exits without READY=1 ends Wait.
func TestNotifyExit(t *testing.T) {
	n, err := ListenNotify(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	exit := make(chan struct{})
	close(exit)
	if err := n.Wait(context.Background(), Gen{Pid: os.Getpid(), Exited: exit}); !errors.Is(err, ErrExited) {
		t.Fatal(err)
	}
	if _, err := ListenNotify("/nonexistent-dir", nil); err == nil {
		t.Error("ListenNotify in a missing directory")
	}
}
