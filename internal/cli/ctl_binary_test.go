package cli

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These tests run the built binary: the cobra wiring (`drover status -c
// FILE`, options before or after the verb), the supervisorctl
// personality through a symlink, and the streaming verbs, which need a
// real SIGINT.

func TestCtlBinaryCommandLines(t *testing.T) {
	t.Parallel()
	d := startTestDaemon(t)
	bin := droverBinary(t)
	link := filepath.Join(t.TempDir(), "supervisorctl")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	want := ctlRun(t, "", "-c", d.conf, "status", "ok", "idle").out
	same := func(r runResult, code int) {
		t.Helper()
		expect(t, r, code, `^ok +RUNNING +pid \d+, uptime .*\nidle +STOPPED +Not started\n$`)
		if got, w := normalize(r.out), normalize(want); got != w {
			t.Errorf("output differs from drover ctl's:\n%s\nwant:\n%s", got, w)
		}
	}
	same(binRun(t, "", bin, "status", "-c", d.conf, "ok", "idle"), 3)
	same(binRun(t, "", bin, "status", "ok", "idle", "--configuration="+d.conf), 3)
	same(binRun(t, "", bin, "-c", d.conf, "status", "ok", "idle"), 3)
	same(binRun(t, "", bin, "--configuration", d.conf, "status", "ok", "idle"), 3)
	same(binRun(t, "", bin, "ctl", "-c", d.conf, "status", "ok", "idle"), 3)
	same(binRun(t, "", link, "-c", d.conf, "status", "ok", "idle"), 3)
	same(binRun(t, "", link, "-s", "unix://"+d.sock, "status ok idle"), 3)

	expect(t, binRun(t, "", bin, "tail", "-c", d.conf, "-3", "ok"), 0, `^`)
	expect(t, binRun(t, "", bin, "restart", "-c", d.conf, "grp:a"), 0, `^grp:a: stopped\ngrp:a: started\n$`)
	expect(t, binRun(t, "", bin, "status", "--help"), 0, `^Show process states[^\n]*\n\nstatus <name>\t\tGet status`)

	r := binRun(t, "", link, "-h")
	expect(t, r, 0, `Usage: `+link+` \[options\] \[action \[arguments\]\]`)
	r = binRun(t, "", link, "-x")
	if r.code != 2 || r.err != "Error: option -x not recognized\nFor help, use "+link+" -h\n" {
		t.Errorf("bad option: %d %q", r.code, r.err)
	}
	r = binRun(t, "", link, "-c", "/nonexistent.conf", "status")
	if r.code != 2 || !strings.HasPrefix(r.err, "Error: could not find config file /nonexistent.conf\n") {
		t.Errorf("missing config: %d %q", r.code, r.err)
	}
	noctl := filepath.Join(t.TempDir(), "x.conf")
	os.WriteFile(noctl, []byte("[supervisord]\n"), 0o644)
	r = binRun(t, "", bin, "status", "-c", noctl)
	if r.code != 2 || r.err != "Error: .ini file does not include supervisorctl section\nFor help, use drover status -h\n" {
		t.Errorf("no [supervisorctl]: %d %q", r.code, r.err)
	}
	// The shell: status first, then each line; exit status 0.
	r = binRun(t, "status zz:*\nstop nope\nquit\n", link, "-c", d.conf)
	expect(t, r, 0, `(?s)^cat +RUNNING.*\nsupervisor> zz: ERROR \(no such group\)\nsupervisor> nope: ERROR \(no such process\)\nsupervisor> \n$`)
}

func TestCtlShellHistory(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "", program("ok", "sleep"), "ok")
	hist := filepath.Join(t.TempDir(), "history")
	os.WriteFile(hist, []byte("version\n"), 0o600)
	r := ctlRun(t, "status ok\n\nstatus --json ok\nopen http://\nopen unix://"+d.sock+"\n", "-c", d.conf, "-r", hist)
	expect(t, r, 0, `(?s)^ok +RUNNING.*supervisor> ok +RUNNING.*supervisor> supervisor> \[\n  \{.*supervisor> ok +RUNNING.*supervisor> \n$`)
	b, _ := os.ReadFile(hist)
	if string(b) != "version\nstatus ok\nstatus --json ok\nopen http://\nopen unix://"+d.sock+"\n" {
		t.Errorf("history file:\n%s", b)
	}
	// A prompt from [supervisorctl].
	text, _ := os.ReadFile(d.conf)
	os.WriteFile(d.conf, []byte(strings.Replace(string(text), "[supervisorctl]\n", "[supervisorctl]\nprompt=drv\n", 1)), 0o644)
	expect(t, ctlRun(t, "", "-c", d.conf), 0, `(?s)\ndrv> \n$`)
}

// proc is a running client whose output is collected as it arrives.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	in   io.WriteCloser
	mu   sync.Mutex
	out  strings.Builder
	grow chan struct{}
	done chan struct{}
}

func startProc(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, cmd: exec.Command(droverBinary(t), args...), grow: make(chan struct{}), done: make(chan struct{})}
	var err error
	if p.in, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	r, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	go func() {
		defer close(p.done)
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:n])
			close(p.grow)
			p.grow = make(chan struct{})
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return p
}

// waitFor waits until the output contains s.
func (p *proc) waitFor(s string) {
	p.t.Helper()
	deadline := time.NewTimer(20 * time.Second)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		got, grow := p.out.String(), p.grow
		p.mu.Unlock()
		if strings.Contains(got, s) {
			return
		}
		select {
		case <-grow:
		case <-p.done:
			p.t.Fatalf("client ended without printing %q:\n%s", s, got)
		case <-deadline.C:
			p.t.Fatalf("client never printed %q:\n%s", s, got)
		}
	}
}

// wait waits for the client to exit and returns its status and output.
func (p *proc) wait() (int, string) {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.t.Fatal("client did not exit")
	}
	err := p.cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return code, p.out.String()
}

func TestCtlTailFollow(t *testing.T) {
	t.Parallel()
	d := startTestDaemon(t)
	d.waitLog("ok", "stderr", "err:hello-ok\n")
	p := startProc(t, "tail", "-f", "-c", d.conf, "ok", "stderr")
	p.waitFor("err:hello-ok\n")
	p.cmd.Process.Signal(syscall.SIGINT)
	code, out := p.wait()
	if code != 0 || out != "==> Press Ctrl-C to exit <==\nerr:hello-ok\n\n" {
		t.Errorf("tail -f: exit %d, output %q", code, out)
	}

	p = startProc(t, "maintail", "-f", "-c", d.conf)
	p.waitFor("==> Press Ctrl-C to exit <==\n")
	m := d.mark()
	expect(t, ctlRun(t, "", "-c", d.conf, "stop", "grp:a"), 0, `stopped`)
	d.waitLine(m, `stopped: a`)
	p.waitFor("stopped: a")
	p.cmd.Process.Signal(syscall.SIGINT)
	if code, _ := p.wait(); code != 0 {
		t.Errorf("maintail -f: exit %d", code)
	}

	p = startProc(t, "tail", "-f", "-c", d.conf, "nope")
	code, out = p.wait()
	if code != 1 || !strings.Contains(out, "unix://"+d.sock+"/logtail/nope/stdout Cannot read, status code 404\n") {
		t.Errorf("tail -f nope: exit %d, output %q", code, out)
	}
}

func TestCtlFg(t *testing.T) {
	t.Parallel()
	d := startTestDaemon(t)
	p := startProc(t, "fg", "-c", d.conf, "cat")
	p.waitFor("==> Press Ctrl-C to exit <==\n")
	io.WriteString(p.in, "ping\n")
	p.waitFor("got: ping\n")
	io.WriteString(p.in, "pong\n")
	p.waitFor("got: pong\n")
	p.in.Close()
	code, out := p.wait()
	if code != 0 || !strings.HasSuffix(out, "Exiting foreground\n") {
		t.Errorf("fg: exit %d, output %q", code, out)
	}

	p = startProc(t, "fg", "-c", d.conf, "cat")
	p.waitFor("==> Press Ctrl-C to exit <==\n")
	p.cmd.Process.Signal(syscall.SIGINT)
	if code, out := p.wait(); code != 0 || !strings.HasSuffix(out, "Exiting foreground\n") {
		t.Errorf("fg Ctrl-C: exit %d, output %q", code, out)
	}

	run := func(args ...string) runResult { return ctlRun(t, "", append([]string{"-c", d.conf}, args...)...) }
	expect(t, run("fg", "idle"), 1, `^ERROR: process not running\n$`)
	expect(t, run("fg", "nope"), 1, `^ERROR: bad process name supplied\n$`)
	expect(t, run("fg"), 1, `^ERROR: no process name supplied\n`)
	expect(t, run("fg", "a", "b"), 1, `^ERROR: too many process names supplied\n$`)
}
