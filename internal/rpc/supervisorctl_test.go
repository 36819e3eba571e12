package rpc

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/testenv"
)

const supervisorctlPath = "/usr/bin/supervisorctl"

// ctlEnv serves the fake backend on a unix socket with auth and returns
// a function running the real supervisorctl against it.
type ctlEnv struct {
	t    *testing.T
	conf string
	f    *fakeBackend
}

func newCtlEnv(t *testing.T) *ctlEnv {
	t.Helper()
	testenv.NeedFile(t, supervisorctlPath, "apt-get install supervisor")
	s, f := newTestServer(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "drover.sock")
	if err := s.Listen([]ListenerConfig{{Section: "unix_http_server", Unix: true, File: sock, UID: -1, GID: -1,
		Credentials: Credentials{Username: "admin", Password: "pw"}}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	conf := filepath.Join(dir, "ctl.conf")
	err := os.WriteFile(conf, []byte("[supervisorctl]\nserverurl=unix://"+sock+"\nusername=admin\npassword=pw\n"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	pi, _ := f.ProcessInfo(context.Background(), "cat")
	if err := os.WriteFile(pi.StdoutLogfile, []byte("hello from cat\n\x1b[32mgreen\x1b[0m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &ctlEnv{t: t, conf: conf, f: f}
}

// run runs supervisorctl with args, checks its exit code, returns output.
func (e *ctlEnv) run(wantCode int, args ...string) string {
	t := e.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, supervisorctlPath, append([]string{"-c", e.conf}, args...)...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("supervisorctl %v: %v", args, err)
	}
	if code != wantCode {
		t.Fatalf("supervisorctl %v exited %d, want %d:\n%s", args, code, wantCode, out)
	}
	return string(out)
}

func match(t *testing.T, out, re string) {
	t.Helper()
	if !regexp.MustCompile(re).MatchString(out) {
		t.Fatalf("output does not match %s:\n%s", re, out)
	}
}

// TestSupervisorctlQuick runs the real supervisorctl's status (its
// getVersion up-check, then getAllProcessInfo) and tail -f (its own HTTP
// client with the stray CRLF) against this server. The full command set
// is in the e2e-tagged TestRealSupervisorctl.
func TestSupervisorctlQuick(t *testing.T) {
	e := newCtlEnv(t)
	out := e.run(3, "status") // 3: a listed process is stopped
	match(t, out, `(?m)^cat +RUNNING +pid 100, uptime 1 day, 1:01:01$`)
	match(t, out, `(?m)^g:a +STOPPED +Not started$`)
	tailFollow(t, e)
}

// tailFollow runs supervisorctl tail -f cat and checks that it shows the
// existing log and then a line appended later.
func tailFollow(t *testing.T, e *ctlEnv) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, supervisorctlPath, "-c", e.conf, "tail", "-f", "cat")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	sc := bufio.NewScanner(stdout)
	waitLine := func(want string) {
		t.Helper()
		for sc.Scan() {
			if strings.Contains(sc.Text(), want) {
				return
			}
		}
		t.Fatalf("tail -f ended before %q: %v", want, sc.Err())
	}
	waitLine("hello from cat")
	pi, _ := e.f.ProcessInfo(context.Background(), "cat")
	appendFile(t, pi.StdoutLogfile, "followed line\n")
	waitLine("followed line")
}
