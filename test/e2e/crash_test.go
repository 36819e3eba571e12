//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/testenv"
	"golang.org/x/sys/unix"
)

// Surviving a crash of drover: kill -9 the daemon and start it again on
// the same config.

// restartDrover starts drover again on d's directory and config (after d
// died), as startDaemon does.
func restartDrover(t *testing.T, d *daemon) *daemon {
	t.Helper()
	n := &daemon{t: t, kind: "drover", dir: d.dir, conf: d.conf, done: make(chan struct{}), changed: make(chan struct{})}
	n.cmd = exec.Command(droverBin, "run", "-n", "-c", n.conf)
	n.cmd.Dir = n.dir
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	n.cmd.Stdout, n.cmd.Stderr = w, w
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	go n.read(r)
	go func() { n.cmd.Wait(); close(n.done) }()
	t.Cleanup(n.kill)
	return n
}

// procsOf lists the live processes whose environment names d's control
// socket (its programs, wherever they were re-parented) and its fd keeper.
func procsOf(d *daemon) (programs, keepers []int) {
	url := "SUPERVISOR_SERVER_URL=unix://" + filepath.Join(d.dir, "supervisor.sock")
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st := startTicksOf(pid); st == 0 {
			continue
		}
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if strings.Contains(string(cmd), "__fd-keeper\x00"+d.dir) {
			keepers = append(keepers, pid)
			continue
		}
		env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if strings.Contains("\x00"+string(env), "\x00"+url+"\x00") && strings.HasSuffix(string(cmd), "\x00count\x00") {
			programs = append(programs, pid)
		}
	}
	return programs, keepers
}

// startTicksOf is /proc/PID/stat's start time, 0 when pid is gone or a
// zombie.
func startTicksOf(pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return 0
	}
	n, _ := strconv.ParseUint(f[19], 10, 64)
	return n
}

// killLeftovers kills what a crashed daemon left, for the test's cleanup.
func killLeftovers(t *testing.T, d *daemon) {
	t.Cleanup(func() {
		progs, keepers := procsOf(d)
		for _, p := range append(progs, keepers...) {
			syscall.Kill(p, syscall.SIGKILL)
		}
	})
}

// waitState waits (inotify on the directory: the writer renames a new
// file into place) until the state file records want running pids.
func waitState(t *testing.T, path string, want int) {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "inotify")
	defer f.Close()
	if _, err := unix.InotifyAddWatch(fd, filepath.Dir(path), unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE); err != nil {
		t.Fatal(err)
	}
	_ = f.SetReadDeadline(time.Now().Add(waitTimeout))
	buf := make([]byte, 4096)
	for {
		var st struct {
			Procs []struct {
				Pid int `json:"pid"`
			} `json:"procs"`
		}
		got := 0
		if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &st) == nil {
			for _, p := range st.Procs {
				if p.Pid > 0 {
					got++
				}
			}
		}
		if got == want {
			return
		}
		if _, err := f.Read(buf); err != nil {
			t.Fatalf("state file %s records %d running pids, want %d: %v", path, got, want, err)
		}
	}
}

// TestE2ECrashReadopt: kill -9 drover with 50 programs logging numbered
// lines, start it again: it takes every program over (same pids, exactly
// one copy of each), and their lines, those written while no drover ran
// included, reach the logs, none lost or doubled.
func TestE2ECrashReadopt(t *testing.T) {
	const programs = 50
	progs, names := countPrograms(programs)
	d := startDaemon(t, "drover", config{Bare: true, Raw: progs})
	killLeftovers(t, d)
	var want []string
	for _, n := range names {
		want = append(want, `success: `+n+` entered RUNNING`)
	}
	d.waitLog(0, want...)
	before := processPids(t, d.apiClient(t))
	waitState(t, filepath.Join(d.dir, "supervisord.pid.state"), programs)

	crashed := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	d.waitExit()
	atCrash := map[string]int{}
	for _, n := range names {
		atCrash[n], _ = countLines(filepath.Join(d.dir, n+".log"))
	}
	d2 := restartDrover(t, d)
	d2.waitLog(0, fmt.Sprintf(`had crashed: taking over %d processes with their pipes, restarting 0`, programs))
	for _, n := range names {
		d2.waitLog(0, `took over: '`+n+`' with pid `+strconv.Itoa(before[n]))
	}
	took := time.Since(crashed)
	api := d2.apiClient(t)
	after := processPids(t, api)
	for n, pid := range before {
		if after[n] != pid {
			t.Errorf("%s: pid %d before the crash, %d after", n, pid, after[n])
		}
	}
	if live, _ := procsOf(d); len(live) != programs {
		t.Errorf("%d counting processes run, want %d: %v", len(live), programs, live)
	}
	// Control and exits work on the taken-over processes: a stop waits
	// for the exit, seen by pidfd (they are not drover's children now).
	if r := d2.droverCtl("stop", names[0]); r.Code != 0 || !strings.Contains(r.Stdout, "stopped") {
		t.Errorf("stop %s: exit %d\n%s%s", names[0], r.Code, r.Stdout, r.Stderr)
	}
	if r := d2.droverCtl("shutdown"); r.Code != 0 {
		t.Fatalf("shutdown: %s%s", r.Stdout, r.Stderr)
	}
	d2.waitExit()
	lines := linesGrew(t, d.dir, names, atCrash, "at the crash")
	if progs, keepers := procsOf(d); len(progs)+len(keepers) != 0 {
		t.Errorf("left running after the shutdown: programs %v, keepers %v", progs, keepers)
	}
	if _, err := os.Stat(filepath.Join(d.dir, "supervisord.pid.state")); !os.IsNotExist(err) {
		t.Errorf("state file after a clean shutdown: %v", err)
	}
	zdReportf(t, "kill -9 of drover with %d programs logging: restarted and took all over in %v (crash to last take-over); %d pids unchanged, %d copies; %d numbered lines checked, none lost or doubled",
		programs, took.Round(time.Millisecond), len(before), programs, lines)
}

// TestE2ECrashWithoutKeeper: kill -9 of drover and of its fd keeper: the
// pipes are gone, so no program can be taken over with its output. The
// counting programs die of SIGPIPE at their next line; a quiet one (the
// sleeper) runs on and is killed and started afresh: the next drover
// runs each exactly once, none of the old copies.
func TestE2ECrashWithoutKeeper(t *testing.T) {
	const programs = 10
	progs, names := countPrograms(programs)
	progs += "\n[program:sleeper]\ncommand = " + childCmd("sleep") + "\nstartsecs = 0\n"
	d := startDaemon(t, "drover", config{Bare: true, Raw: progs})
	killLeftovers(t, d)
	var want []string
	for _, n := range names {
		want = append(want, `success: `+n+` entered RUNNING`)
	}
	d.waitLog(0, append(want, `success: sleeper entered RUNNING`)...)
	before := processPids(t, d.apiClient(t))
	waitState(t, filepath.Join(d.dir, "supervisord.pid.state"), programs+1)
	_, keepers := procsOf(d)
	if len(keepers) != 1 {
		t.Fatalf("fd keepers %v, want one", keepers)
	}
	d.cmd.Process.Signal(syscall.SIGKILL)
	syscall.Kill(keepers[0], syscall.SIGKILL)
	d.waitExit()
	d2 := restartDrover(t, d)
	d2.waitLog(0, append(want, `had crashed: taking over 0 processes with their pipes, restarting [1-9]\d* whose pipes were lost`,
		`could not take over sleeper \(pid `+strconv.Itoa(before["sleeper"])+`\): its output pipes were not handed over; restarting it`,
		`success: sleeper entered RUNNING`)...)
	after := processPids(t, d2.apiClient(t))
	if after["sleeper"] == before["sleeper"] || startTicksOf(before["sleeper"]) != 0 {
		t.Errorf("sleeper: pid %d before, %d after; the old one alive: %v", before["sleeper"], after["sleeper"], startTicksOf(before["sleeper"]) != 0)
	}
	live, _ := procsOf(d)
	if len(live) != programs {
		t.Errorf("%d counting processes run, want %d: %v", len(live), programs, live)
	}
	for _, n := range names {
		pid := before[n]
		if after[n] == pid || after[n] == 0 {
			t.Errorf("%s: pid %d before, %d after: want a new copy", n, pid, after[n])
		}
		if startTicksOf(pid) != 0 && regexp.MustCompile(`\b`+strconv.Itoa(pid)+`\b`).MatchString(fmt.Sprint(live)) {
			t.Errorf("%s: the old copy (pid %d) still runs", n, pid)
		}
	}
}

// TestE2ECrashSocketsRecovered: a server on drover-owned sockets under
// load through kill -9 of drover and its restart: it serves throughout
// (it holds its sockets), the next drover takes it over with the sockets
// from the keeper, and a blue/green reload on them afterwards fails no
// request either.
func TestE2ECrashSocketsRecovered(t *testing.T) {
	port := freePort(t)
	_, web := zdServers[len(zdServers)-1].setup(t, "drover", port) // plain-go
	d := startDaemon(t, "drover", config{Bare: true, Raw: web})
	killLeftoversServe(t, d)
	d.waitLog(0, `success: web entered RUNNING`)
	before := processPids(t, d.apiClient(t))["web"]
	waitState(t, filepath.Join(d.dir, "supervisord.pid.state"), 1)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	l := startLoad(t, base, zdTag, 3*time.Minute)
	tag, err := l.settle(10, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	d.cmd.Process.Signal(syscall.SIGKILL)
	d.waitExit()
	d2 := restartDrover(t, d)
	d2.waitLog(0, `had crashed: taking over 1 processes with their pipes, restarting 0`, `took over: 'web' with pid `+strconv.Itoa(before))
	if r := d2.droverCtl("reload", "web"); r.Code != 0 {
		t.Fatalf("reload after the take-over: exit %d\n%s%s\n%s", r.Code, r.Stdout, r.Stderr, d2.output())
	}
	next, err := l.waitNewTag([]string{tag}, 5, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	rep := l.report()
	if rep.Failed != 0 || rep.Retried != 0 {
		t.Errorf("load: %v; examples %v, re-sent %v\n%s", rep, rep.Examples, rep.Resent, d2.output())
	}
	if startTicksOf(before) != 0 {
		t.Errorf("the taken-over generation (pid %d) still runs after the reload", before)
	}
	zdReportf(t, "kill -9 of drover under load, restart, take-over, then a blue/green reload on the recovered sockets (generation %s -> %s): %v", tag, next, rep)
}

// killLeftoversServe kills the server processes of d's programs (a zd-serve
// child re-parented by the crash) at the end of the test.
func killLeftoversServe(t *testing.T, d *daemon) {
	t.Cleanup(func() {
		url := "SUPERVISOR_SERVER_URL=unix://" + filepath.Join(d.dir, "supervisor.sock")
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
			cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			if strings.Contains("\x00"+string(env), "\x00"+url+"\x00") || strings.Contains(string(cmd), "__fd-keeper\x00"+d.dir) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
}

// TestE2ECrashRestartsEventListener: kill -9 of drover while a
// supervisor.childutils listener runs. Its protocol state (waiting for an
// event, or answering one) went with the daemon, so the next drover does
// not take it over as it does other programs: it restarts it, and the
// new listener gets events again. (Taken over blindly, it got none.)
func TestE2ECrashRestartsEventListener(t *testing.T) {
	if err := exec.Command(systemPython, "-c", "import supervisor.childutils").Run(); err != nil {
		testenv.MissingPeer(t, "%s cannot import supervisor.childutils (apt-get install supervisor): %v", systemPython, err)
	}
	script, err := filepath.Abs(filepath.Join("testdata", "listener.py"))
	if err != nil {
		t.Fatal(err)
	}
	progs, names := countPrograms(1)
	d := startDaemon(t, "drover", config{Bare: true, Raw: progs + fmt.Sprintf(`
[eventlistener:watch]
command=%s %s
events=REMOTE_COMMUNICATION
stderr_logfile=/dev/stdout
stderr_logfile_maxbytes=0
`, systemPython, script)})
	killLeftovers(t, d)
	d.waitLog(0, `success: watch entered RUNNING`, `success: `+names[0]+` entered RUNNING`)
	api := d.apiClient(t)
	call(t, api, "supervisor.sendRemoteCommEvent", "t", "before-crash")
	d.waitLog(0, `EVENT 0 0 REMOTE_COMMUNICATION type:t\\nbefore-crash`)
	before := processPids(t, api)
	waitState(t, filepath.Join(d.dir, "supervisord.pid.state"), 2)

	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	d.waitExit()
	d2 := restartDrover(t, d)
	d2.waitLog(0, `took over: '`+names[0]+`' with pid `+strconv.Itoa(before[names[0]]),
		`could not take over watch \(pid `+strconv.Itoa(before["watch"])+`\): an event listener whose protocol state was lost with the previous daemon; restarting it`,
		`success: watch entered RUNNING`)
	api2 := d2.apiClient(t)
	after := processPids(t, api2)
	if after["watch"] == 0 || after["watch"] == before["watch"] {
		t.Errorf("listener pid %d before the crash, %d after: not restarted", before["watch"], after["watch"])
	}
	if syscall.Kill(before["watch"], 0) == nil && startTicksOf(before["watch"]) != 0 {
		t.Errorf("the old listener (pid %d) still runs", before["watch"])
	}
	call(t, api2, "supervisor.sendRemoteCommEvent", "t", "after-crash")
	d2.waitLog(0, `EVENT 0 0 REMOTE_COMMUNICATION type:t\\nafter-crash`)
	if r := d2.droverCtl("shutdown"); r.Code != 0 {
		t.Fatalf("shutdown: %s%s", r.Stdout, r.Stderr)
	}
	d2.waitExit()
	if progs, keepers := procsOf(d); len(progs)+len(keepers) != 0 {
		t.Errorf("left running after the shutdown: programs %v, keepers %v", progs, keepers)
	}
}
