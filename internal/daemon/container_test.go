package daemon_test

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// containerConf is a nodaemon config whose [supervisord] section has the
// given extra lines and no logfile= unless they set one.
func containerConf(supervisord, sections string) func(f *fixture) string {
	return func(f *fixture) string {
		return fmt.Sprintf(`[supervisord]
nodaemon = true
pidfile = %[1]s/drover.pid
childlogdir = %[1]s
%[2]s

[unix_http_server]
file = %[1]s/drover.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

%[3]s`, f.dir, supervisord, sections)
	}
}

// exitCode sends TERM unless the daemon already ended, waits for its
// stdout to end and returns its exit code.
func (f *fixture) exitCode(term bool) int {
	f.t.Helper()
	if term {
		f.signalDaemon(syscall.SIGTERM)
	}
	select {
	case <-f.ended:
	case <-time.After(20 * time.Second):
		f.t.Fatalf("daemon did not exit within 20s; log:\n%s", f.log())
	}
	f.cmd.Wait()
	return f.cmd.ProcessState.ExitCode()
}

// With nodaemon, logfile=/dev/stdout (any spelling of drover's stdout or
// stderr) is written once, not once as the file and once as the echo.
func TestMainLogOnStdoutIsNotDoubled(t *testing.T) {
	for _, logfile := range []string{"/dev/stdout", "/proc/self/fd/1", "/dev/stderr", "%(here)s/main.log"} {
		t.Run(strings.NewReplacer("/", "_", "%", "").Replace(logfile), func(t *testing.T) {
			f := launch(t, containerConf("logfile = "+logfile+"\nlogfile_maxbytes = 0", program("web", "sleep", "startsecs = 0")), nil)
			f.waitLine(`success: web entered RUNNING`)
			if code := f.exitCode(true); code != 0 {
				t.Fatalf("exit code %d", code)
			}
			for _, re := range []string{`supervisord started with pid`, `success: web entered RUNNING`, `stopped: web `} {
				if n := f.count(re); n != 1 {
					t.Errorf("%d lines match %q, want 1; output:\n%s", n, re, f.log())
				}
			}
		})
	}
}

// countLines writes "out I" to stdout and "err I" to stderr for I = 1..n,
// then "partial" with no newline, and waits for TERM.
func countLines(arg string) int {
	n, _ := strconv.Atoi(arg)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	for i := 1; i <= n; i++ {
		fmt.Printf("out %d\n", i)
		fmt.Fprintf(os.Stderr, "err %d\n", i)
	}
	fmt.Print("partial")
	<-sigs
	return 0
}

// stdout_console and stderr_console copy each line of a program's output
// to drover's stdout and stderr behind the process name, once, whole, in
// the order written, with the unfinished last line ended when the program
// exits; the log file still gets everything (or nothing with NONE).
func TestConsoleOutputPrefixed(t *testing.T) {
	const n = 2000
	f := launch(t, containerConf("logfile = %(here)s/main.log",
		program("web", "count:"+strconv.Itoa(n), "stdout_console = true", "stderr_console = true", "stdout_logfile = NONE")+
			program("work", "count:"+strconv.Itoa(n), "numprocs = 2", "process_name = %(program_name)s_%(process_num)d", "stdout_console = true")+
			program("quiet", "count:10")), nil)
	f.waitLine(`^web \| out ` + strconv.Itoa(n) + `$`)
	f.waitLine(`^web \| err ` + strconv.Itoa(n) + `$`)
	f.waitLine(`^work:work_0 \| out ` + strconv.Itoa(n) + `$`)
	f.waitLine(`^work:work_1 \| out ` + strconv.Itoa(n) + `$`)
	logPath := f.info("work:work_1")["stdout_logfile"].(string)
	if code := f.exitCode(true); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	seen := map[string]int{}
	next := map[string]int{}
	stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ `)
	line := regexp.MustCompile(`^(web|work:work_[01]) \| (out|err) (\d+)$`)
	for _, l := range strings.Split(f.log(), "\n") {
		if stamp.MatchString(l) {
			continue // the main log's echo
		}
		if strings.HasSuffix(l, " | partial") {
			seen[l]++
			continue
		}
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("a line that is neither the main log nor a whole program line: %q", l)
		}
		i, _ := strconv.Atoi(m[3])
		key := m[1] + " " + m[2]
		if i != next[key]+1 {
			t.Fatalf("%s: line %d after %d", key, i, next[key])
		}
		next[key] = i
	}
	want := map[string]int{"web out": n, "web err": n, "work:work_0 out": n, "work:work_1 out": n}
	if fmt.Sprint(next) != fmt.Sprint(want) {
		t.Fatalf("lines per stream %v, want %v", next, want)
	}
	for _, p := range []string{"web", "work:work_0", "work:work_1"} {
		if seen[p+" | partial"] != 1 {
			t.Errorf("%s's unfinished last line seen %d times, want 1 (at exit)", p, seen[p+" | partial"])
		}
	}
	if strings.Contains(f.log(), "quiet | ") {
		t.Error("a program without the option reached the console")
	}
	if b, err := os.ReadFile(logPath); err != nil || !strings.Contains(string(b), "out "+strconv.Itoa(n)+"\n") {
		t.Errorf("work_1's log file lacks its lines: %v", err)
	}
}

// exit_daemon_on with real processes: the daemon stops the other programs
// in reverse priority order and exits with the policy's status.
func TestExitPolicyEndsDaemon(t *testing.T) {
	for _, c := range []struct {
		name, web string
		code      int
	}{
		{"fatal", program("web", "exit:3", "priority = 10", "startsecs = 1", "startretries = 1", "exit_daemon_on = fatal"), 1},
		{"fatal with code", program("web", "exit:3", "priority = 10", "startsecs = 1", "startretries = 0", "exit_daemon_on = fatal", "exit_daemon_code = 4"), 4},
		{"exit", program("web", "exit:5", "priority = 10", "startsecs = 0", "autorestart = false", "exit_daemon_on = exit"), 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := launch(t, containerConf("logfile = %(here)s/main.log",
				program("db", "sleep", "priority = 1", "startsecs = 0")+
					program("worker", "sleep", "priority = 20", "startsecs = 0")+c.web), nil)
			if code := f.exitCode(false); code != c.code {
				t.Fatalf("exit code %d, want %d; log:\n%s", code, c.code, f.log())
			}
			worker, db := -1, -1
			for i, l := range strings.Split(f.log(), "\n") {
				switch {
				case strings.Contains(l, "stopped: worker"):
					worker = i
				case strings.Contains(l, "stopped: db"):
					db = i
				}
			}
			if worker < 0 || db < 0 || worker > db || f.count(`exiting: web entered (FATAL|EXITED) and has exit_daemon_on`) != 1 {
				t.Fatalf("want the policy line, then worker stopped before db; log:\n%s", f.log())
			}
		})
	}
}

// A detached daemon's stdout is /dev/null: stdout_console is said to have
// no effect there, in the main log.
func TestConsoleDetachedWarns(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "supervisord.conf")
	text := fmt.Sprintf("[supervisord]\nlogfile = %[1]s/main.log\npidfile = %[1]s/drover.pid\nchildlogdir = %[1]s\n\n%[2]s", dir,
		program("web", "sleep", "startsecs = 0", "stdout_console = true"))
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(droverBin, "run", "-c", conf).CombinedOutput(); err != nil {
		t.Fatalf("drover run (detaching): %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "drover.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	defer func() {
		syscall.Kill(pid, syscall.SIGTERM)
		if !waitExit(t, pid, 15*time.Second) {
			t.Errorf("detached daemon %d did not exit on TERM", pid)
		}
	}()
	waitFile(t, filepath.Join(dir, "main.log"), "stdout_console/stderr_console of web have no effect: drover is not running in the foreground")
}
