//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/rpc"
	"github.com/drover-sh/drover/internal/testenv"
)

// debVersion is the version the test builds the packages with, so the
// installed binary is recognisably this build.
const (
	debVersion    = "9.9.9-e2e"
	debDebVersion = "9.9.9~e2e"
	// The version the test upgrades the package to.
	debNextVersion    = "9.9.10-e2e"
	debNextDebVersion = "9.9.10~e2e"
)

// TestE2EDebPackage builds the packages with `make deb`, installs drover's
// with dpkg -i, runs the installed /usr/bin/drover (not through systemd: CI
// has none running) on /etc/drover/drover.conf, edited to keep its socket,
// logs and pidfile in a temp dir, asks Debian's real supervisorctl for the
// status through it, upgrades the package under it (the daemon is upgraded
// in place: same pids), then removes and purges the package. The compat package conflicts with Debian's supervisor, which
// the other tests need: its contents and relations are checked with
// dpkg-deb instead of installing it.
func TestE2EDebPackage(t *testing.T) {
	testenv.NeedRoot(t, "dpkg -i needs root")
	for _, tool := range []string{"dpkg", "dpkg-deb", "make", "gzip"} {
		testenv.LookPath(t, tool, "apt-get install dpkg make gzip")
	}
	testenv.NeedFile(t, supervisorctlPath, "apt-get install supervisor")
	if exec.Command("dpkg", "-s", "drover").Run() == nil {
		t.Fatal("the drover package is installed already: this test installs and purges it")
	}
	arch := strings.TrimSpace(mustRun(t, "", "dpkg", "--print-architecture"))

	// Build.
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out2 := t.TempDir()
	for _, b := range []struct{ version, dir string }{{debVersion, out}, {debNextVersion, out2}} {
		mk := exec.CommandContext(ctx, "make", "-C", repoRoot(t), "deb", "VERSION="+b.version, "DEB_OUT="+b.dir)
		if out, err := mk.CombinedOutput(); err != nil {
			t.Fatalf("make deb %s: %v\n%s", b.version, err, out)
		}
	}
	deb := filepath.Join(out, "drover_"+debDebVersion+"_"+arch+".deb")
	next := filepath.Join(out2, "drover_"+debNextDebVersion+"_"+arch+".deb")
	compat := filepath.Join(out, "drover-supervisor-compat_"+debDebVersion+"_all.deb")

	// Install; whatever happens, purge it again.
	t.Cleanup(func() {
		if b, err := exec.Command("dpkg", "-P", "drover").CombinedOutput(); err != nil {
			t.Errorf("dpkg -P drover: %v\n%s", err, b)
		}
	})
	mustRun(t, "", "dpkg", "-i", deb)
	for _, f := range []string{"/usr/bin/drover", "/lib/systemd/system/drover.service", "/etc/drover/drover.conf",
		"/etc/drover/conf.d", "/var/log/drover", "/usr/share/man/man1/drover.1.gz", "/usr/share/man/man1/drover-status.1.gz",
		"/usr/share/man/man1/drover-run.1.gz", "/usr/share/bash-completion/completions/drover",
		"/usr/share/zsh/vendor-completions/_drover", "/usr/share/fish/vendor_completions.d/drover.fish"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("installed package lacks %s: %v", f, err)
		}
	}
	if v := mustRun(t, "", "/usr/bin/drover", "--version"); v != "drover "+debVersion+" (supervisord 4.2.5 compatible)\n" {
		t.Errorf("installed drover --version: %q", v)
	}
	if page := mustRun(t, "", "gzip", "-dc", "/usr/share/man/man1/drover-status.1.gz"); !strings.HasPrefix(page, `.TH "DROVER-STATUS" 1`) ||
		!strings.Contains(page, "-c, --configuration FILE") {
		t.Errorf("drover-status.1 is not the generated page:\n%s", page)
	}
	if unit, _ := os.ReadFile("/lib/systemd/system/drover.service"); !regexp.MustCompile(`(?m)^Type=notify$`).Match(unit) ||
		!regexp.MustCompile(`(?m)^KillMode=process$`).Match(unit) || !regexp.MustCompile(`(?m)^ExecStart=/usr/bin/drover run -n -c /etc/drover/drover.conf$`).Match(unit) {
		t.Errorf("drover.service:\n%s", unit)
	}
	// The shipped config is valid once the package made its directories.
	mustRun(t, "", "/usr/bin/drover", "check", "-c", "/etc/drover/drover.conf")
	if sa, err := exec.LookPath("systemd-analyze"); err == nil {
		// Only drover's own unit counts (other units on the machine may warn).
		b, _ := exec.Command(sa, "verify", "/lib/systemd/system/drover.service").CombinedOutput()
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, "drover.service") {
				t.Errorf("systemd-analyze verify: %s", l)
			}
		}
	}

	// Run the installed binary on the package's config, made ours (as an
	// administrator edits a conffile), with a fake systemd.
	dir := t.TempDir()
	notify := listenNotifyE2E(t, filepath.Join(dir, "notify"))
	conf := "/etc/drover/drover.conf"
	os.WriteFile(conf, []byte(debConf(dir)+fmt.Sprintf("\n[program:sleeper]\ncommand = %s\nstartsecs = 1\n", childCmd("sleep"))), 0o644)
	d := exec.Command("/usr/bin/drover", "run", "-c", conf)
	d.Env = append(os.Environ(), "NOTIFY_SOCKET="+notify.path)
	var dout bytes.Buffer
	d.Stdout, d.Stderr = &dout, &dout
	d.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- d.Wait() }()
	t.Cleanup(func() {
		syscall.Kill(-d.Process.Pid, syscall.SIGKILL) // only if still there
	})
	// READY=1 comes once sleeper left STARTING: no polling for the state.
	select {
	case m := <-notify.msgs:
		for !strings.HasPrefix(m, "READY=1") {
			select {
			case m = <-notify.msgs:
			case <-time.After(20 * time.Second):
				t.Fatalf("no READY=1 from the installed drover within 20s; output:\n%s", dout.String())
			}
		}
	case err := <-exited:
		t.Fatalf("installed drover exited: %v\n%s", err, dout.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("no notification from the installed drover within 20s; output:\n%s", dout.String())
	}
	st := exec.Command(supervisorctlPath, "-c", conf, "status")
	b, err := st.CombinedOutput()
	if err != nil || !regexp.MustCompile(`^sleeper\s+RUNNING\s+pid \d+, uptime \d+:\d\d:\d\d\n$`).Match(b) {
		t.Errorf("Debian's supervisorctl status through the installed drover: %v\n%s", err, b)
	}
	if b := mustRun(t, "", "/usr/bin/drover", "status", "-c", conf); !strings.HasPrefix(b, "sleeper") {
		t.Errorf("drover status: %q", b)
	}

	// Upgrade the package under the running daemon: its postinst upgrades
	// the daemon in place, and every pid stays.
	pids := func() (string, string) {
		return strings.TrimSpace(mustRun(t, "", "/usr/bin/drover", "pid", "-c", conf)),
			strings.TrimSpace(mustRun(t, "", "/usr/bin/drover", "pid", "sleeper", "-c", conf))
	}
	daemonPid, sleeperPid := pids()
	if daemonPid != strconv.Itoa(d.Process.Pid) {
		t.Fatalf("drover pid says %q, the daemon is %d", daemonPid, d.Process.Pid)
	}
	// A daemon on a config of its own is not the package's to upgrade: it
	// is named.
	other := otherDaemon(t)
	up := mustRun(t, "", "dpkg", "-i", next)
	if want := "drover: " + conf + ": upgraded in place: pid " + daemonPid + ", drover " + debVersion + " -> " + debNextVersion; !strings.Contains(up, want) {
		t.Errorf("dpkg -i of %s says:\n%s\nwant a line %q", debNextVersion, up, want)
	}
	if want := fmt.Sprintf("drover: pid %d (/usr/bin/drover run -n -c %s ) still runs the previous binary: `drover upgrade -c ITS_CONFIG` upgrades it in place.", other.Process.Pid, other.Args[4]); !strings.Contains(up, want) {
		t.Errorf("dpkg -i of %s says:\n%s\nwant a line %q", debNextVersion, up, want)
	}
	if strings.Count(up, "still runs the previous binary") != 1 {
		t.Errorf("dpkg -i of %s names more than the other daemon:\n%s", debNextVersion, up)
	}
	other.Process.Signal(syscall.SIGTERM)
	if dp, sp := pids(); dp != daemonPid || sp != sleeperPid {
		t.Errorf("after the package upgrade: daemon pid %s, sleeper pid %s; were %s, %s", dp, sp, daemonPid, sleeperPid)
	}
	if exe, err := os.Readlink("/proc/" + daemonPid + "/exe"); err != nil || exe != "/usr/bin/drover" {
		t.Errorf("the daemon runs %q (%v) after the upgrade, want the new /usr/bin/drover", exe, err)
	}
	// A daemon that refuses (a process STARTING for longer than an upgrade
	// waits) keeps the previous binary; the package installs all the same.
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "\n[program:slowstart]\ncommand = %s\nstartsecs = 60\nautostart = false\n", childCmd("sleep"))
	f.Close()
	mustRun(t, "", "/usr/bin/drover", "update", "-c", conf)
	api, err := rpc.NewClientAuth("unix://"+filepath.Join(dir, "drover.sock"), rpc.ClientAuth{})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	call(t, api, "supervisor.startProcess", "slowstart", false) // returns with it STARTING
	up = mustRun(t, "", "dpkg", "-i", next)
	if !strings.Contains(up, "drover: "+conf+": the daemon (pid "+daemonPid+") keeps the previous binary:") ||
		!strings.Contains(up, "slowstart") || !strings.Contains(up, "drover upgrade -c "+conf) {
		t.Errorf("dpkg -i while slowstart is STARTING says:\n%s", up)
	} else {
		t.Logf("dpkg -i while slowstart is STARTING:\n%s", up)
	}
	if dp, sp := pids(); dp != daemonPid || sp != sleeperPid {
		t.Errorf("after the refused upgrade: daemon pid %s, sleeper pid %s; were %s, %s", dp, sp, daemonPid, sleeperPid)
	}
	if exe, err := os.Readlink("/proc/" + daemonPid + "/exe"); err != nil || exe != "/usr/bin/drover (deleted)" {
		t.Errorf("the daemon runs %q (%v) after the refused upgrade, want the replaced binary", exe, err)
	}
	d.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("installed drover exited: %v\n%s", err, dout.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("installed drover did not exit on TERM within 30s")
	}
	// With no daemon running, an upgrade (here: the same version again)
	// only installs.
	if up := mustRun(t, "", "dpkg", "-i", next); strings.Contains(up, "upgraded in place") || strings.Contains(up, "keeps the previous binary") {
		t.Errorf("dpkg -i with no daemon running says:\n%s", up)
	}

	// The compat package, without installing it.
	list := mustRun(t, "", "dpkg-deb", "-c", compat)
	for _, re := range []string{`\./usr/bin/supervisord -> drover\n`, `\./usr/bin/supervisorctl -> drover\n`,
		` \./lib/systemd/system/supervisor\.service\n`, ` \./etc/supervisor/supervisord\.conf\n`, ` \./etc/supervisor/conf\.d/\n`,
		` \./usr/share/man/man1/supervisord\.1\.gz\n`} {
		if !regexp.MustCompile(re).MatchString(list) {
			t.Errorf("compat package lacks %s:\n%s", re, list)
		}
	}
	for field, want := range map[string]string{"Conflicts": "supervisor", "Replaces": "supervisor",
		"Provides": "supervisor (= 4.2.5)", "Depends": "drover (= " + debDebVersion + ")", "Architecture": "all"} {
		if got := strings.TrimSpace(mustRun(t, "", "dpkg-deb", "-f", compat, field)); got != want {
			t.Errorf("compat %s: %q, want %q", field, got, want)
		}
	}
	x := t.TempDir()
	mustRun(t, "", "dpkg-deb", "-x", compat, x)
	if unit, _ := os.ReadFile(filepath.Join(x, "lib/systemd/system/supervisor.service")); !regexp.MustCompile(
		`(?m)^ExecStart=/usr/bin/supervisord -n -c /etc/supervisor/supervisord\.conf$`).Match(unit) {
		t.Errorf("supervisor.service:\n%s", unit)
	}
	// Its supervisord, a link to drover, answers as supervisord; its config loads.
	sd := filepath.Join(t.TempDir(), "supervisord")
	os.Symlink("/usr/bin/drover", sd)
	if v := mustRun(t, "", sd, "--version"); v != "4.2.5\n" {
		t.Errorf("supervisord --version through the link: %q", v)
	}
	mustRun(t, "", "/usr/bin/drover", "check", "-c", filepath.Join(x, "etc/supervisor/supervisord.conf"))

	// Remove: the binary goes, the conffile stays until the purge.
	mustRun(t, "", "dpkg", "-r", "drover")
	if _, err := os.Stat("/usr/bin/drover"); !os.IsNotExist(err) {
		t.Errorf("/usr/bin/drover after dpkg -r: %v", err)
	}
	if _, err := os.Stat("/etc/drover/drover.conf"); err != nil {
		t.Errorf("conffile gone before the purge: %v", err)
	}
	mustRun(t, "", "dpkg", "-P", "drover")
	for _, f := range []string{"/etc/drover", "/var/log/drover"} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s after dpkg -P: %v", f, err)
		}
	}
	if _, err := os.Stat(supervisorctlPath); err != nil {
		t.Errorf("Debian's supervisorctl is gone: %v", err)
	}
}

// mustRun runs a command and returns its stdout; a failure ends the test.
func mustRun(t *testing.T, stdin, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %q: %v\nstdout:\n%s\nstderr:\n%s", name, args, err, out.String(), errb.String())
	}
	return out.String()
}

// repoRoot is the module's directory (test/e2e is two levels down).
func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(wd, "..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod at %s: %v", root, err)
	}
	return root
}

// notifyE2E is a fake systemd notify socket.
type notifyE2E struct {
	path string
	msgs chan string
}

func listenNotifyE2E(t *testing.T, path string) *notifyE2E {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	n := &notifyE2E{path: path, msgs: make(chan string, 64)}
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				return
			}
			select {
			case n.msgs <- string(buf[:k]):
			default: // the test reads only until READY=1
			}
		}
	}()
	return n
}

// otherDaemon runs the installed drover on a config in a temp dir until
// the test ends, and returns once it said READY=1.
func otherDaemon(t *testing.T) *exec.Cmd {
	t.Helper()
	dir := t.TempDir()
	notify := listenNotifyE2E(t, filepath.Join(dir, "notify"))
	conf := filepath.Join(dir, "other.conf")
	os.WriteFile(conf, []byte(debConf(dir)), 0o644)
	d := exec.Command("/usr/bin/drover", "run", "-n", "-c", conf)
	d.Env = append(os.Environ(), "NOTIFY_SOCKET="+notify.path)
	d.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { d.Wait(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(-d.Process.Pid, syscall.SIGKILL) // only if still there
		<-exited
	})
	deadline := time.After(20 * time.Second)
	for {
		select {
		case m := <-notify.msgs:
			if strings.HasPrefix(m, "READY=1") {
				return d
			}
		case <-exited:
			t.Fatalf("the other daemon exited")
		case <-deadline:
			t.Fatalf("no READY=1 from the other daemon within 20s")
		}
	}
}

// debConf is a config whose files (logs, pidfile, control socket) are in
// dir, without programs.
func debConf(dir string) string {
	return fmt.Sprintf(`[supervisord]
nodaemon = true
logfile = %[1]s/main.log
pidfile = %[1]s/drover.pid
childlogdir = %[1]s

[unix_http_server]
file = %[1]s/drover.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl = unix://%[1]s/drover.sock
`, dir)
}
