package daemon_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// notifyListener is a fake systemd: a unixgram socket that hands every
// datagram it receives to msgs.
type notifyListener struct {
	path string
	msgs chan string
}

func listenNotify(t *testing.T) *notifyListener {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	l := &notifyListener{path: path, msgs: make(chan string, 256)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(l.msgs)
				return
			}
			l.msgs <- string(buf[:n])
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return l
}

// next returns the next datagram that starts with one of the state words
// (READY=1, RELOADING=1, STOPPING=1), remembering the others it skipped.
func (l *notifyListener) next(t *testing.T, skipped *[]string) string {
	t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		select {
		case m, ok := <-l.msgs:
			if !ok {
				t.Fatal("notify socket closed")
			}
			for _, w := range []string{"READY=1", "RELOADING=1", "STOPPING=1"} {
				if strings.HasPrefix(m, w) {
					return m
				}
			}
			*skipped = append(*skipped, m)
		case <-deadline.C:
			t.Fatalf("no state message within 20s; seen meanwhile %q", *skipped)
		}
	}
}

// TestSDNotifyReadyReloadingStopping runs the daemon with a fake
// NOTIFY_SOCKET: READY=1 comes once the autostart program left STARTING,
// RELOADING=1 (with MONOTONIC_USEC) then READY=1 around an HUP and around a
// restart, STOPPING=1 at shutdown; STATUS= carries the counts (a program
// that cannot start counts as fatal and does not hold READY=1 back),
// WATCHDOG=1 comes as WATCHDOG_USEC asks, and programs do not see
// systemd's variables.
func TestSDNotifyReadyReloadingStopping(t *testing.T) {
	l := listenNotify(t)
	envLog := filepath.Join(t.TempDir(), "env.log")
	sections := program("web", "sleep", "startsecs = 1") +
		"[program:envdump]\ncommand = /bin/sh -c 'echo \"ns=[$NOTIFY_SOCKET] wd=[$WATCHDOG_USEC]\"; exec sleep 600'\n" +
		"startsecs = 0\nstdout_logfile = " + envLog + "\n\n" +
		"[program:missing]\ncommand = /nonexistent/drover-test-prog\nstartretries = 0\n"
	f := startWith(t, sections, []string{"env", "NOTIFY_SOCKET=" + l.path, "WATCHDOG_USEC=400000"})
	var seen []string

	if m := l.next(t, &seen); m != "READY=1" {
		t.Fatalf("first state message %q, want READY=1 (seen %q)", m, seen)
	}
	// READY=1 waited for web's startsecs: it is RUNNING already.
	if st := f.info("web")["statename"]; st != "RUNNING" {
		t.Errorf("web is %v at READY=1, want RUNNING", st)
	}
	waitFile(t, envLog, "ns=[] wd=[]")

	f.signalDaemon(syscall.SIGHUP)
	for _, want := range []string{"RELOADING=1", "READY=1"} {
		if m := l.next(t, &seen); !strings.HasPrefix(m, want) {
			t.Fatalf("after HUP: %q, want %s", m, want)
		} else if want == "RELOADING=1" && !strings.Contains(m, "\nMONOTONIC_USEC=") {
			t.Errorf("RELOADING=1 without MONOTONIC_USEC: %q", m)
		}
	}

	f.call("supervisor.restart")
	for _, want := range []string{"RELOADING=1", "READY=1"} {
		if m := l.next(t, &seen); !strings.HasPrefix(m, want) {
			t.Fatalf("after restart: %q, want %s", m, want)
		}
	}
	if st := f.info("web")["statename"]; st != "RUNNING" {
		t.Errorf("web is %v at READY=1 after the restart, want RUNNING", st)
	}

	f.signalDaemon(syscall.SIGTERM)
	if m := l.next(t, &seen); m != "STOPPING=1" {
		t.Fatalf("at shutdown: %q, want STOPPING=1", m)
	}

	var status, watchdog bool
	for _, m := range seen {
		status = status || m == "STATUS=2 running, 1 fatal (3 processes)"
		watchdog = watchdog || m == "WATCHDOG=1"
	}
	if !status || !watchdog {
		t.Errorf("want STATUS=2 running, 1 fatal (3 processes) and WATCHDOG=1 among %q", seen)
	}
	t.Logf("other messages: %q", seen)
}

// TestSDNotifyDetachingWarns: under Type=notify the daemon must not detach
// (systemd hears its main process only); drover says so on stderr.
func TestSDNotifyDetachingWarns(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "supervisord.conf")
	pidfile := filepath.Join(dir, "drover.pid")
	text := "[supervisord]\nnodaemon = false\nlogfile = " + dir + "/main.log\npidfile = " + pidfile + "\n" +
		"[unix_http_server]\nfile = " + dir + "/drover.sock\n"
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(droverBin, "run", "-c", conf)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+filepath.Join(dir, "notify"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("drover run: %v\n%s", err, out)
	}
	pid := readPid(t, pidfile)
	t.Cleanup(func() {
		syscall.Kill(pid, syscall.SIGTERM)
		waitExit(t, pid, 20*time.Second)
	})
	if !strings.Contains(string(out), "NOTIFY_SOCKET is set but the daemon detaches: use -n") {
		t.Errorf("no warning:\n%s", out)
	}
}
