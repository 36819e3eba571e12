package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func writeConf(t *testing.T, text string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "supervisord.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, p
}

func mustLoad(t *testing.T, text string) *Config {
	t.Helper()
	dir, p := writeConf(t, text)
	cfg, err := Load(p, testOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestLoadTyped(t *testing.T) {
	cfg := mustLoad(t, `[supervisord]
[program:web]
command=/usr/bin/gunicorn -w "%(ENV_WORKERS)s" app:app
user=app
stdout_logfile=~/web.log
stopsignal=QUIT
numprocs=2
process_name=%(program_name)s_%(process_num)d
`)
	if len(cfg.Groups) != 1 || len(cfg.Groups[0].Processes) != 2 {
		t.Fatalf("groups: %+v", cfg.Groups)
	}
	p := cfg.Groups[0].Processes[1]
	want := []string{"/usr/bin/gunicorn", "-w", "3", "app:app"}
	if p.Name != "web_1" || p.Group != "web" || p.Program != "web" || p.ProcessNum != 1 || !reflect.DeepEqual(p.Argv, want) {
		t.Errorf("process: %q %q %q %d %q", p.Name, p.Group, p.Program, p.ProcessNum, p.Argv)
	}
	if p.UID != 1000 || p.GID != 1000 || !reflect.DeepEqual(p.Groups, []uint32{1000, 27}) || p.HomeDir != "/home/app" {
		t.Errorf("user: %d %d %v %q", p.UID, p.GID, p.Groups, p.HomeDir)
	}
	if p.Stdout.Path != "/tmp/web.log" || p.Stdout.Auto || !p.Stderr.Auto || p.Stderr.Path != "" {
		t.Errorf("logs: %+v %+v", p.Stdout, p.Stderr)
	}
	if p.StopSignal != 3 || p.StartSecs != time.Second || p.StopWait != 10*time.Second || p.Umask != -1 {
		t.Errorf("options: %+v", p)
	}
	if !p.Autostart || p.Autorestart != AutorestartUnexpected || !reflect.DeepEqual(p.ExitCodes, []int{0}) {
		t.Errorf("defaults: %+v", p)
	}
	s := cfg.Supervisord
	if s.LogfileMaxBytes != 50<<20 || s.LogfileBackups != 10 || s.LogLevel != LevelInfo || s.Umask != 0o22 ||
		s.MinFDs != 1024 || s.MinProcs != 200 || s.Identifier != "supervisor" || s.ChildLogDir != "/tmp" {
		t.Errorf("supervisord defaults: %+v", s)
	}
	if !filepath.IsAbs(s.Logfile) || !filepath.IsAbs(s.Pidfile) {
		t.Errorf("log/pid not absolute: %q %q", s.Logfile, s.Pidfile)
	}
}

func TestLoadArgvErr(t *testing.T) {
	cfg := mustLoad(t, "[supervisord]\n[program:x]\ncommand=/bin/sh -c \"oops\n")
	p := cfg.Groups[0].Processes[0]
	if p.Argv != nil || p.ArgvErr != "No closing quotation" {
		t.Errorf("argv %q err %q", p.Argv, p.ArgvErr)
	}
}

func TestLoadErrorsAs(t *testing.T) {
	dir, p := writeConf(t, "[supervisord]\n[program:x]\ncommand=/bin/echo %s\n[program:y]\ncommand=/bin/true\nenvironment=H=$HOME\n")
	_, err := Load(p, testOptions(dir))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%T %v", err, err)
	}
	if e.Pos.File != p || e.Pos.Line != 3 || e.Section != "program:x" || e.Option != "command" {
		t.Errorf("first error: %+v", e)
	}
	if !errors.Is(err, ErrPercentS) || !errors.Is(err, ErrEnvTruncated) {
		t.Errorf("sentinels not found in %v", err)
	}
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 2 {
		t.Errorf("list: %v", err)
	}
	if !strings.HasPrefix(err.Error(), p+":3: [program:x] command: ") {
		t.Errorf("format: %s", err)
	}
	_, err = Load(filepath.Join(dir, "missing.conf"), testOptions(dir))
	if !errors.As(err, &e) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestEqual(t *testing.T) {
	base := "[supervisord]\n[program:a]\ncommand=/bin/a\nenvironment=X=1,Y=2\n"
	a := mustLoad(t, base).Groups[0]
	b := mustLoad(t, "[supervisord]\n[program:a]\ncommand=/bin/a\nenvironment=Y=2,X=1\nstdout_logfile=/tmp/a.log\n").Groups[0]
	if !a.Equal(b) || !a.Processes[0].Equal(b.Processes[0]) {
		t.Error("env order and an AUTO log path must not count as changes")
	}
	for _, change := range []string{"command=/bin/b", "startsecs=2", "environment=X=2", "stopsignal=INT", "user=app", "autorestart=true", "exitcodes=0,1", "stdout_logfile_maxbytes=1KB"} {
		c := mustLoad(t, base+change+"\n").Groups[0]
		if a.Equal(c) || a.Processes[0].Equal(c.Processes[0]) {
			t.Errorf("%s: not detected", change)
		}
	}
	p := mustLoad(t, base+"priority=5\n").Groups[0]
	if a.Equal(p) {
		t.Error("priority change not detected")
	}
	l1 := mustLoad(t, "[supervisord]\n[eventlistener:l]\ncommand=/bin/l\nevents=TICK_5\n").Groups[0]
	l2 := mustLoad(t, "[supervisord]\n[eventlistener:l]\ncommand=/bin/l\nevents=TICK_60\n").Groups[0]
	if l1.Equal(l2) || !l1.Equal(l1) {
		t.Error("listener events")
	}
	var nilp *Process
	if nilp.Equal(a.Processes[0]) || !nilp.Equal(nil) {
		t.Error("nil")
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "etc", "supervisord.conf")
	if err := os.WriteFile(want, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Find(filepath.Join(dir, "bin", "drover"))
	if err != nil || got != want {
		t.Errorf("Find = %q, %v", got, err)
	}
	if p := SearchPaths("/usr/bin/supervisord"); p[0] != "/usr/etc/supervisord.conf" || p[5] != "/etc/supervisor/supervisord.conf" || p[6] != "/etc/drover/drover.conf" {
		t.Errorf("SearchPaths: %v", p)
	}
}

func TestDefaultsKnown(t *testing.T) {
	// Every option the builders read must have an entry in optionDefaults,
	// or it would be reported as unknown.
	cfg := mustLoad(t, "[supervisord]\n[program:a]\ncommand=/bin/a\n")
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings on a minimal config: %v", cfg.Warnings)
	}
}

func TestSupervisorctlProblemsAreWarnings(t *testing.T) {
	cfg := mustLoad(t, "[supervisord]\n[supervisorctl]\nserverurl=http://%(nope)s:9001\nprompt=p\n")
	if !cfg.Supervisorctl.Present || cfg.Supervisorctl.Err == nil || cfg.Supervisorctl.Prompt != "p" {
		t.Errorf("supervisorctl: %+v", cfg.Supervisorctl)
	}
	if len(cfg.Warnings) != 1 || cfg.Warnings[0].Option != "serverurl" || cfg.Warnings[0].Pos.Line != 3 {
		t.Errorf("warnings: %v", cfg.Warnings)
	}
}

func TestOSHost(t *testing.T) {
	u, err := OSHost{}.LookupUser(strconv.Itoa(os.Getuid()))
	if err != nil {
		t.Skipf("no passwd entry for uid %d: %v", os.Getuid(), err)
	}
	if u.UID != os.Getuid() || u.HomeDir == "" {
		t.Errorf("by uid: %+v", u)
	}
	v, err := OSHost{}.LookupUser(u.Name)
	if err != nil || v.UID != u.UID || v.GID != u.GID {
		t.Errorf("by name %q: %+v %v", u.Name, v, err)
	}
	if _, err := (OSHost{}).LookupUser("no-such-user-drover"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("unknown: %v", err)
	}
	if !(OSHost{}).IsDir(t.TempDir()) || (OSHost{}).IsDir("/no/such/dir") {
		t.Error("IsDir")
	}
}
