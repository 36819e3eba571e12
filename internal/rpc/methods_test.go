package rpc

import (
	"github.com/drover-sh/drover/internal/access"
	"github.com/drover-sh/drover/internal/supervisor"

	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/rpc/xmlrpc"
)

var fakeNow = fakeStart.Add(90061 * time.Second) // 1 day, 1:01:01 later

func newTestServer(t *testing.T) (*Server, *fakeBackend) {
	t.Helper()
	f := newFake(t)
	s, err := New(Options{Backend: f, SupervisorVersion: "4.2.5", Now: func() time.Time { return fakeNow }})
	if err != nil {
		t.Fatal(err)
	}
	return s, f
}

// norm turns encoder-level types into what a client decodes, so results
// can be compared with plain literals.
func norm(t *testing.T, v any) any {
	t.Helper()
	b, err := xmlrpc.AppendResponse(nil, v)
	if err != nil {
		t.Fatalf("encode %#v: %v", v, err)
	}
	out, err := xmlrpc.ParseResponse(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func wantFault(t *testing.T, s *Server, code supervisor.Code, str string, method string, params ...any) {
	t.Helper()
	v, err := s.Call(context.Background(), method, params...)
	var f *supervisor.Fault
	if !errors.As(err, &f) {
		t.Fatalf("%s%v = %#v, %v; want fault %d", method, params, v, err, code)
	}
	if f.Code != code || f.Error() != str {
		t.Fatalf("%s%v: fault %d %q, want %d %q", method, params, f.Code, f.Error(), code, str)
	}
}

func wantValue(t *testing.T, s *Server, want any, method string, params ...any) {
	t.Helper()
	v, err := s.Call(context.Background(), method, params...)
	if err != nil {
		t.Fatalf("%s%v: %v", method, params, err)
	}
	if got := norm(t, v); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s%v = %#v, want %#v", method, params, got, want)
	}
}

func TestListMethods(t *testing.T) {
	s, _ := newTestServer(t)
	// The 41 names supervisord 4.2.5 lists (checked against a running copy).
	want := strings.Fields(`supervisor.addProcessGroup supervisor.clearAllProcessLogs supervisor.clearLog
	supervisor.clearProcessLog supervisor.clearProcessLogs supervisor.getAPIVersion supervisor.getAllConfigInfo
	supervisor.getAllProcessInfo supervisor.getIdentification supervisor.getPID supervisor.getProcessInfo
	supervisor.getState supervisor.getSupervisorVersion supervisor.getVersion supervisor.readLog
	supervisor.readMainLog supervisor.readProcessLog supervisor.readProcessStderrLog supervisor.readProcessStdoutLog
	supervisor.reloadConfig supervisor.removeProcessGroup supervisor.restart supervisor.sendProcessStdin
	supervisor.sendRemoteCommEvent supervisor.shutdown supervisor.signalAllProcesses supervisor.signalProcess
	supervisor.signalProcessGroup supervisor.startAllProcesses supervisor.startProcess supervisor.startProcessGroup
	supervisor.stopAllProcesses supervisor.stopProcess supervisor.stopProcessGroup supervisor.tailProcessLog
	supervisor.tailProcessStderrLog supervisor.tailProcessStdoutLog system.listMethods system.methodHelp
	system.methodSignature system.multicall`)
	if len(want) != 41 {
		t.Fatal("bad fixture")
	}
	// drover's own methods, listed as a supervisord plugin's would be.
	want = append(strings.Fields(`drover.getAllProcessInfo drover.getAllProcessStatus drover.getAllProcessUsage drover.getImage drover.getProcessInfo drover.getVersion drover.reloadAllProcesses
	drover.reloadProcess drover.reloadProcessGroup drover.rotateAllLogs drover.rotateLogs drover.scale drover.update drover.upgrade`), want...)
	got := norm(t, must(s.Call(context.Background(), "system.listMethods")))
	var names []string
	for _, v := range got.([]any) {
		names = append(names, v.(string))
	}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("listMethods = %v", names)
	}
}

func must(v any, err error) any {
	if err != nil {
		panic(err)
	}
	return v
}

// signatures as supervisord 4.2.5's system.methodSignature reports them.
var signatures = map[string]string{
	"supervisor.addProcessGroup": "boolean string", "supervisor.clearAllProcessLogs": "array",
	"supervisor.clearLog": "boolean", "supervisor.clearProcessLog": "boolean string",
	"supervisor.clearProcessLogs": "boolean string", "supervisor.getAPIVersion": "string",
	"supervisor.getAllConfigInfo": "array", "supervisor.getAllProcessInfo": "array",
	"supervisor.getIdentification": "string", "supervisor.getPID": "int",
	"supervisor.getProcessInfo": "struct string", "supervisor.getState": "struct",
	"supervisor.getSupervisorVersion": "string", "supervisor.getVersion": "string",
	"supervisor.readLog": "string int int", "supervisor.readMainLog": "string int int",
	"supervisor.readProcessLog": "string string int int", "supervisor.readProcessStderrLog": "string string int int",
	"supervisor.readProcessStdoutLog": "string string int int", "supervisor.reloadConfig": "array",
	"supervisor.removeProcessGroup": "boolean string", "supervisor.restart": "boolean",
	"supervisor.sendProcessStdin": "boolean string string", "supervisor.sendRemoteCommEvent": "boolean string string",
	"supervisor.shutdown": "boolean", "supervisor.signalAllProcesses": "array string",
	"supervisor.signalProcess": "boolean string string", "supervisor.signalProcessGroup": "array string string",
	"supervisor.startAllProcesses": "array boolean", "supervisor.startProcess": "boolean string boolean",
	"supervisor.startProcessGroup": "array string boolean", "supervisor.stopAllProcesses": "array boolean",
	"supervisor.stopProcess": "boolean string boolean", "supervisor.stopProcessGroup": "array string boolean",
	"supervisor.tailProcessLog": "array string int int", "supervisor.tailProcessStderrLog": "array string int int",
	"supervisor.tailProcessStdoutLog": "array string int int", "system.listMethods": "array",
	"system.methodHelp": "string string", "system.methodSignature": "array string", "system.multicall": "array array",
	// drover's own
	"drover.reloadProcess": "boolean string", "drover.reloadProcessGroup": "array string int", "drover.update": "struct array",
	"drover.reloadAllProcesses": "array int", "drover.getProcessInfo": "struct string", "drover.getAllProcessInfo": "array",
	"drover.getAllProcessStatus": "array", "drover.scale": "array string int",
	"drover.rotateLogs": "array string", "drover.rotateAllLogs": "array",
}

// TestSignaturesAndArity checks every method's signature, help, and that
// one argument too many (and one too few) is INCORRECT_PARAMETERS.
func TestSignaturesAndArity(t *testing.T) {
	s, _ := newTestServer(t)
	for name, sig := range signatures {
		var want []any
		for _, f := range strings.Fields(sig) {
			want = append(want, f)
		}
		wantValue(t, s, want, "system.methodSignature", name)
		help := must(s.Call(context.Background(), "system.methodHelp", name)).(string)
		if !strings.Contains(help, "@return "+want[0].(string)) {
			t.Fatalf("%s help lacks @return: %q", name, help)
		}
		m := s.d.methods[name]
		tooMany := make([]any, len(m.params)+1)
		for i := range tooMany {
			tooMany[i] = "x"
		}
		wantFault(t, s, supervisor.CodeIncorrectParameters, "INCORRECT_PARAMETERS", name, tooMany...)
		if m.required > 0 {
			wantFault(t, s, supervisor.CodeIncorrectParameters, "INCORRECT_PARAMETERS", name, tooMany[:m.required-1]...)
		}
	}
	wantFault(t, s, supervisor.CodeSignatureUnsupported, "SIGNATURE_UNSUPPORTED", "system.methodHelp", "nope")
	wantFault(t, s, supervisor.CodeSignatureUnsupported, "SIGNATURE_UNSUPPORTED", "system.methodSignature", "supervisor._update")
}

func TestUnknownMethods(t *testing.T) {
	s, _ := newTestServer(t)
	for _, m := range []string{"foo.bar", "supervisor.a.b", "supervisor._update", "supervisor", "",
		"supervisor.supervisord.options.execve", "system.multicall.x", "supervisor.__init__"} {
		wantFault(t, s, supervisor.CodeUnknownMethod, "UNKNOWN_METHOD", m)
	}
}

func TestDaemonMethods(t *testing.T) {
	s, f := newTestServer(t)
	wantValue(t, s, "3.0", "supervisor.getAPIVersion")
	wantValue(t, s, "3.0", "supervisor.getVersion")
	wantValue(t, s, "4.2.5", "supervisor.getSupervisorVersion")
	wantValue(t, s, "supervisor", "supervisor.getIdentification")
	wantValue(t, s, 4242, "supervisor.getPID")
	wantValue(t, s, map[string]any{"statecode": 1, "statename": "RUNNING"}, "supervisor.getState")
	wantValue(t, s, []any{[]any{[]any{"new"}, []any{}, []any{"old"}}}, "supervisor.reloadConfig")
	wantValue(t, s, true, "supervisor.addProcessGroup", "new")
	wantFault(t, s, supervisor.CodeAlreadyAdded, "ALREADY_ADDED: cat", "supervisor.addProcessGroup", "cat")
	wantFault(t, s, supervisor.CodeBadName, "BAD_NAME: zz", "supervisor.addProcessGroup", "zz")
	wantFault(t, s, supervisor.CodeStillRunning, "STILL_RUNNING: cat", "supervisor.removeProcessGroup", "cat")
	wantFault(t, s, supervisor.CodeBadName, "BAD_NAME: zz", "supervisor.removeProcessGroup", "zz")
	wantFault(t, s, supervisor.CodeIncorrectParameters, "INCORRECT_PARAMETERS: 5", "supervisor.removeProcessGroup", 5)
	wantValue(t, s, true, "supervisor.clearLog")
	wantValue(t, s, true, "supervisor.sendRemoteCommEvent", "t", "d")
	if f.calls[len(f.calls)-1] != "comm t d" {
		t.Fatalf("calls %v", f.calls)
	}
}

func TestShutdownState(t *testing.T) {
	for _, m := range []string{"supervisor.shutdown", "supervisor.restart"} {
		s, _ := newTestServer(t)
		wantValue(t, s, true, m)
		for name, mt := range s.d.methods {
			params := make([]any, mt.required)
			for i := range params {
				params[i] = "x"
			}
			_, err := s.Call(context.Background(), name, params...)
			var f *supervisor.Fault
			isShutdown := errors.As(err, &f) && f.Code == supervisor.CodeShutdownState && f.Error() == "SHUTDOWN_STATE"
			if (strings.HasPrefix(name, "supervisor.") || strings.HasPrefix(name, "drover.")) && name != "supervisor.sendRemoteCommEvent" {
				if !isShutdown {
					t.Fatalf("after %s, %s: %v, want SHUTDOWN_STATE", m, name, err)
				}
			} else if isShutdown {
				t.Fatalf("after %s, %s failed SHUTDOWN_STATE", m, name)
			}
		}
		// Arity is checked first, as Python checks it before the body runs.
		wantFault(t, s, supervisor.CodeIncorrectParameters, "INCORRECT_PARAMETERS", "supervisor.getPID", 1)
	}
}

func TestStartStop(t *testing.T) {
	s, f := newTestServer(t)
	wantFault(t, s, supervisor.CodeAlreadyStarted, "ALREADY_STARTED: cat", "supervisor.startProcess", "cat")
	wantFault(t, s, supervisor.CodeBadName, "BAD_NAME: nope", "supervisor.startProcess", "nope")
	wantFault(t, s, supervisor.CodeIncorrectParameters, "INCORRECT_PARAMETERS: 1", "supervisor.startProcess", 1)
	wantFault(t, s, supervisor.CodeIncorrectParameters, "INCORRECT_PARAMETERS: yes", "supervisor.startProcess", "cat", "yes")
	wantValue(t, s, true, "supervisor.startProcess", "g:a", false)
	wantValue(t, s, true, "supervisor.stopProcess", "g:a", 1)
	ok := func(name, group string) any {
		return map[string]any{"name": name, "group": group, "status": 80, "description": "OK"}
	}
	// "g:*" and "g:" are delegated to the group method, which returns an array.
	wantValue(t, s, []any{ok("a", "g")}, "supervisor.startProcess", "g:*")
	wantValue(t, s, []any{ok("a", "g"), ok("b", "g")}, "supervisor.stopProcess", "g:")
	wantFault(t, s, supervisor.CodeNotRunning, "NOT_RUNNING: g:a", "supervisor.stopProcess", "g:a")
	wantFault(t, s, supervisor.CodeBadName, "BAD_NAME: zz", "supervisor.startProcessGroup", "zz")
	wantFault(t, s, supervisor.CodeBadName, "BAD_NAME: zz:*", "supervisor.startProcess", "zz:*")
	wantFault(t, s, supervisor.CodeBadName, "BAD_NAME: zz:", "supervisor.stopProcess", "zz:")
	wantValue(t, s, []any{ok("a", "g"), ok("b", "g")}, "supervisor.startProcessGroup", "g")
	wantValue(t, s, []any{ok("a", "g"), ok("b", "g")}, "supervisor.stopProcessGroup", "g", true)
	wantValue(t, s, []any{ok("a", "g"), ok("b", "g")}, "supervisor.startAllProcesses")
	wantValue(t, s, []any{ok("cat", "cat"), ok("a", "g"), ok("b", "g")}, "supervisor.stopAllProcesses", false)
	wantFault(t, s, supervisor.CodeIncorrectParameters, "INCORRECT_PARAMETERS: x", "supervisor.stopAllProcesses", "x")
	if !strings.Contains(strings.Join(f.calls, ","), "startgroup g") {
		t.Fatalf("calls %v", f.calls)
	}
}

func TestStartWaitCancelled(t *testing.T) {
	s, f := newTestServer(t)
	f.block = true
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, err := s.Call(ctx, "supervisor.startProcess", "g:a"); done <- err }()
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("cancelled wait succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("wait not cancelled")
	}
}

func TestSignals(t *testing.T) {
	s, f := newTestServer(t)
	wantValue(t, s, true, "supervisor.signalProcess", "cat", "HUP")
	wantValue(t, s, true, "supervisor.signalProcess", "g:b", "sigusr1")
	wantValue(t, s, true, "supervisor.signalProcess", "cat", "15")
	wantValue(t, s, true, "supervisor.signalProcess", "cat", 9)
	if !reflect.DeepEqual(f.signals, []syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGTERM, syscall.SIGKILL}) {
		t.Fatalf("signals %v", f.signals)
	}
	wantFault(t, s, supervisor.CodeBadSignal, "BAD_SIGNAL: FOO", "supervisor.signalProcess", "cat", "FOO")
	wantFault(t, s, supervisor.CodeBadSignal, "BAD_SIGNAL: 99", "supervisor.signalProcess", "cat", "99")
	wantFault(t, s, supervisor.CodeBadName, "BAD_NAME: nope", "supervisor.signalProcess", "nope", "FOO")
	wantFault(t, s, supervisor.CodeNotRunning, "NOT_RUNNING: g:a", "supervisor.signalProcess", "g:a", "HUP")
	bad := func(name, group string) any {
		return map[string]any{"name": name, "group": group, "status": 11, "description": "BAD_SIGNAL: FOO"}
	}
	ok := func(name, group string) any {
		return map[string]any{"name": name, "group": group, "status": 80, "description": "OK"}
	}
	// Invalid signals on groups give per-process results, like supervisord.
	wantValue(t, s, []any{bad("cat", "cat"), bad("b", "g")}, "supervisor.signalAllProcesses", "FOO")
	wantValue(t, s, []any{bad("b", "g")}, "supervisor.signalProcessGroup", "g", "FOO")
	wantValue(t, s, []any{bad("b", "g")}, "supervisor.signalProcess", "g:*", "FOO")
	wantFault(t, s, supervisor.CodeBadName, "BAD_NAME: zz", "supervisor.signalProcessGroup", "zz", "FOO")
	wantFault(t, s, supervisor.CodeBadName, "BAD_NAME: zz", "supervisor.signalProcessGroup", "zz", "HUP")
	wantFault(t, s, supervisor.CodeBadName, "BAD_NAME: zz:*", "supervisor.signalProcess", "zz:*", "HUP")
	wantFault(t, s, supervisor.CodeBadName, "BAD_NAME: zz:*", "supervisor.signalProcess", "zz:*", "FOO")
	wantValue(t, s, []any{ok("b", "g")}, "supervisor.signalProcess", "g:*", "HUP")
	wantValue(t, s, []any{ok("cat", "cat"), ok("b", "g")}, "supervisor.signalAllProcesses", "TERM")
}

func TestProcessInfo(t *testing.T) {
	s, _ := newTestServer(t)
	v := norm(t, must(s.Call(context.Background(), "supervisor.getProcessInfo", "cat"))).(map[string]any)
	pi, _ := s.opts.Backend.ProcessInfo(context.Background(), "cat")
	want := map[string]any{
		"name": "cat", "group": "cat", "start": int(fakeStart.Unix()), "stop": 0, "now": int(fakeNow.Unix()),
		"state": 20, "statename": "RUNNING", "spawnerr": "", "exitstatus": 0,
		"logfile": pi.StdoutLogfile, "stdout_logfile": pi.StdoutLogfile, "stderr_logfile": pi.StderrLogfile,
		"pid": 100, "description": "pid 100, uptime 1 day, 1:01:01",
	}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("getProcessInfo = %#v\nwant %#v", v, want)
	}
	for _, name := range []string{"g:*", "g:", "nope", "g:zz"} {
		wantFault(t, s, supervisor.CodeBadName, "BAD_NAME: "+name, "supervisor.getProcessInfo", name)
	}
	all := norm(t, must(s.Call(context.Background(), "supervisor.getAllProcessInfo"))).([]any)
	var order []string
	for _, e := range all {
		m := e.(map[string]any)
		order = append(order, m["group"].(string)+":"+m["name"].(string)+"="+m["description"].(string))
	}
	if got := strings.Join(order, ","); got != "cat:cat=pid 100, uptime 1 day, 1:01:01,g:a=Not started,g:b=pid 102, uptime 1 day, 1:01:01" {
		t.Fatalf("getAllProcessInfo order/description: %s", got)
	}
}

// appendUptime words seconds as Python's str(timedelta).
func TestUptimeFormat(t *testing.T) {
	for secs, want := range map[int64]string{
		0:              "0:00:00",
		5:              "0:00:05",
		3599:           "0:59:59",
		36000 + 61:     "10:01:01",
		86400:          "1 day, 0:00:00",
		86400 + 3723:   "1 day, 1:02:03",
		2*86400 + 59:   "2 days, 0:00:59",
		400*86400 + 60: "400 days, 0:01:00",
	} {
		if got := string(appendUptime(nil, secs)); got != want {
			t.Errorf("appendUptime(%d) = %q, want %q", secs, got, want)
		}
	}
}

func TestDescription(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	stop := time.Unix(999_000, 0)
	for _, tc := range []struct {
		pi   ProcessInfo
		want string
	}{
		{ProcessInfo{State: supervisor.Running, PID: 7, Start: now.Add(-59 * time.Second)}, "pid 7, uptime 0:00:59"},
		{ProcessInfo{State: supervisor.Running, PID: 7, Start: now.Add(-49 * time.Hour)}, "pid 7, uptime 2 days, 1:00:00"},
		{ProcessInfo{State: supervisor.Running, PID: 7, Start: now.Add(time.Hour)}, "pid 7, uptime 0:00:00"},
		{ProcessInfo{State: supervisor.Fatal, SpawnErr: "Exited too quickly"}, "Exited too quickly"},
		{ProcessInfo{State: supervisor.Backoff, Name: "x"}, `unknown error (try "tail x")`},
		{ProcessInfo{State: supervisor.Stopped}, "Not started"},
		{ProcessInfo{State: supervisor.Exited, Start: stop.Add(-time.Minute), Stop: stop}, stop.Local().Format("Jan 02 03:04 PM")},
		{ProcessInfo{State: supervisor.Stopped, Start: stop}, time.Unix(0, 0).Local().Format("Jan 02 03:04 PM")},
		{ProcessInfo{State: supervisor.Stopping}, ""},
		{ProcessInfo{State: supervisor.Starting}, ""},
	} {
		plain := func(b []byte, s string) []byte { return append(b, s...) }
		if got := string(appendDescription(nil, tc.pi, now, plain)); got != tc.want {
			t.Errorf("Description(%v) = %q, want %q", tc.pi.State, got, tc.want)
		}
	}
}

func TestAllConfigInfo(t *testing.T) {
	s, _ := newTestServer(t)
	all := norm(t, must(s.Call(context.Background(), "supervisor.getAllConfigInfo"))).([]any)
	if len(all) != 2 {
		t.Fatalf("got %d entries", len(all))
	}
	a, cat := all[0].(map[string]any), all[1].(map[string]any) // sorted by name
	wantCat := map[string]any{
		"autostart": true, "directory": "none", "uid": "none", "command": "/bin/cat", "exitcodes": []any{0},
		"group": "cat", "group_prio": 999, "inuse": true, "killasgroup": false, "name": "cat", "process_prio": 999,
		"redirect_stderr": false, "startretries": 3, "startsecs": 1, "stdout_capture_maxbytes": 0,
		"stdout_events_enabled": false, "stdout_logfile": "/tmp/cat.log", "stdout_logfile_backups": 10,
		"stdout_logfile_maxbytes": 52428800, "stdout_syslog": false, "stopsignal": 15, "stopwaitsecs": 10,
		"stderr_capture_maxbytes": 0, "stderr_events_enabled": false, "stderr_logfile": "auto",
		"stderr_logfile_backups": 10, "stderr_logfile_maxbytes": 52428800, "stderr_syslog": false, "serverurl": "none",
	}
	if !reflect.DeepEqual(cat, wantCat) {
		t.Fatalf("cat config = %#v", cat)
	}
	if a["uid"] != 1000 || a["directory"] != "/srv" || a["exitcodes"] == nil || a["stdout_logfile"] != "none" || a["serverurl"] != "AUTO" {
		t.Fatalf("a config = %#v", a)
	}
}

func TestLogMethods(t *testing.T) {
	s, f := newTestServer(t)
	pi, _ := f.ProcessInfo(context.Background(), "cat")
	if err := os.WriteFile(pi.StdoutLogfile, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pi.StderrLogfile, []byte("err\x1b[31m\xff"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"supervisor.readProcessStdoutLog", "supervisor.readProcessLog"} {
		wantValue(t, s, "0123456789", m, "cat", 0, 0)
		wantValue(t, s, "789", m, "cat", -3, 0)
		wantValue(t, s, "0123456789", m, "cat", -100, 0)
		wantValue(t, s, "234", m, "cat", 2, 3)
		wantValue(t, s, "", m, "cat", 20, 0)
		wantValue(t, s, "12", m, "cat", "1", "2") // numeric strings work, as int() does
		wantFault(t, s, supervisor.CodeBadArguments, "BAD_ARGUMENTS", m, "cat", -3, 1)
		wantFault(t, s, supervisor.CodeBadArguments, "BAD_ARGUMENTS", m, "cat", 0, -1)
		wantFault(t, s, supervisor.CodeIncorrectParameters, "INCORRECT_PARAMETERS: x", m, "cat", "x", 0)
		wantFault(t, s, supervisor.CodeBadName, "BAD_NAME: g:*", m, "g:*", 0, 0)
		wantFault(t, s, supervisor.CodeBadName, "BAD_NAME: nope", m, "nope", 0, 0)
		// No file: NO_FILE with the path, checked before the arguments.
		ga, _ := f.ProcessInfo(context.Background(), "g:a")
		wantFault(t, s, supervisor.CodeNoFile, "NO_FILE: "+ga.StdoutLogfile, m, "g:a", -3, 1)
	}
	// Control and invalid bytes come back sanitized instead of an HTTP 500.
	wantValue(t, s, "err␛[31m\uFFFD", "supervisor.readProcessStderrLog", "cat", 0, 0)
	for _, m := range []string{"supervisor.tailProcessStdoutLog", "supervisor.tailProcessLog"} {
		wantValue(t, s, []any{"0123456789", 10, false}, m, "cat", 0, 100)
		wantValue(t, s, []any{"789", 10, true}, m, "cat", 0, 3)
		wantValue(t, s, []any{"56789", 10, false}, m, "cat", 8, 5) // supervisord moves the window back
		wantValue(t, s, []any{"", 10, false}, m, "cat", 10, 5)
		wantValue(t, s, []any{"", 0, false}, m, "g:a", 0, 5)
		wantFault(t, s, supervisor.CodeBadName, "BAD_NAME: g:", m, "g:", 0, 5)
	}
	wantValue(t, s, []any{"err␛[31m\uFFFD", 9, false}, "supervisor.tailProcessStderrLog", "cat", 0, 100)
	// Main log.
	for _, m := range []string{"supervisor.readLog", "supervisor.readMainLog"} {
		wantValue(t, s, "line\n", m, -5, 0)
		wantFault(t, s, supervisor.CodeBadArguments, "BAD_ARGUMENTS", m, -5, 5)
	}
	f.mainLog = ""
	wantFault(t, s, supervisor.CodeNoFile, "NO_FILE: None", "supervisor.readLog", 0, 0)
	// clear
	wantValue(t, s, true, "supervisor.clearProcessLogs", "cat")
	wantValue(t, s, true, "supervisor.clearProcessLog", "g:a")
	wantFault(t, s, supervisor.CodeBadName, "BAD_NAME: g:*", "supervisor.clearProcessLogs", "g:*")
	res := norm(t, must(s.Call(context.Background(), "supervisor.clearAllProcessLogs"))).([]any)
	if len(res) != 3 {
		t.Fatalf("clearAllProcessLogs = %v", res)
	}
}

func TestSendProcessStdin(t *testing.T) {
	s, f := newTestServer(t)
	wantValue(t, s, true, "supervisor.sendProcessStdin", "cat", "héllo\n")
	wantValue(t, s, true, "supervisor.sendProcessStdin", "cat", []byte{0, 1})
	if string(f.stdin) != "héllo\n\x00\x01" {
		t.Fatalf("stdin %q", f.stdin)
	}
	wantFault(t, s, supervisor.CodeIncorrectParameters, "INCORRECT_PARAMETERS: 5", "supervisor.sendProcessStdin", "cat", 5)
	wantFault(t, s, supervisor.CodeNotRunning, "NOT_RUNNING: g:a", "supervisor.sendProcessStdin", "g:a", "x")
	wantFault(t, s, supervisor.CodeBadName, "BAD_NAME: zz", "supervisor.sendProcessStdin", "zz", "x")
}

func TestMulticall(t *testing.T) {
	s, _ := newTestServer(t)
	calls := []any{
		map[string]any{"methodName": "supervisor.getPID"},
		map[string]any{"methodName": "supervisor.getProcessInfo", "params": []any{"nope"}},
		map[string]any{"methodName": "system.multicall", "params": []any{[]any{}}},
		map[string]any{"params": []any{}},
		map[string]any{"methodName": "supervisor.foo"},
		map[string]any{"methodName": "supervisor.getAPIVersion", "params": []any{}},
		"not a struct",
		map[string]any{"methodName": "supervisor.getPID", "params": "x"},
	}
	fault := func(code int, s string) any { return map[string]any{"faultCode": code, "faultString": s} }
	// Matches supervisord 4.2.5 on the wire: bare results, fault structs.
	wantValue(t, s, []any{
		4242,
		fault(10, "BAD_NAME: nope"),
		fault(2, "INCORRECT_PARAMETERS: Recursive system.multicall forbidden"),
		fault(2, "INCORRECT_PARAMETERS: No methodName"),
		fault(1, "UNKNOWN_METHOD"),
		"3.0",
		fault(2, "INCORRECT_PARAMETERS: call is not a struct"),
		fault(2, "INCORRECT_PARAMETERS: params is not an array"),
	}, "system.multicall", calls)
	wantFault(t, s, supervisor.CodeIncorrectParameters, "INCORRECT_PARAMETERS: x", "system.multicall", "x")
}

func TestReadOnlyDispatch(t *testing.T) {
	s, _ := newTestServer(t)
	ro := 0
	for name, m := range s.d.methods {
		params := make([]any, m.required)
		for i := range params {
			params[i] = "cat"
		}
		if name == "system.multicall" {
			params[0] = []any{map[string]any{"methodName": "supervisor.stopProcess", "params": []any{"cat"}}}
		}
		v, err := s.d.call(withGrant(context.Background(), grant{readOnly: true, rights: access.All}), name, params)
		var f *supervisor.Fault
		denied := errors.As(err, &f) && f.Code == supervisor.CodeFailed && strings.Contains(f.Detail, "read-only")
		if m.readOnly == denied {
			t.Errorf("%s: readOnly=%v but denied=%v (%v)", name, m.readOnly, denied, err)
		}
		if name == "system.multicall" {
			r := v.([]any)[0].(xmlrpc.Struct)
			if code, _ := r.Get("faultCode"); code != int(supervisor.CodeFailed) {
				t.Errorf("multicall let a write through on a read-only listener: %v", r)
			}
		}
		if m.readOnly {
			ro++
		}
	}
	if ro != 21+6 { // supervisord's and drover.getProcessInfo, drover.getAllProcessInfo, drover.getAllProcessStatus, drover.getAllProcessUsage, drover.getVersion, drover.getImage
		t.Errorf("%d read-only methods", ro)
	}
}

func TestToFault(t *testing.T) {
	f := ToFault(errors.New("boom"))
	if f.Code != supervisor.CodeFailed || f.Error() != "FAILED: boom" {
		t.Fatalf("%v", f)
	}
	wrapped := errors.Join(errors.New("ctx"), supervisor.NewFault(supervisor.CodeSpawnError, "web"))
	if f := ToFault(wrapped); f.Code != supervisor.CodeSpawnError || f.Error() != "SPAWN_ERROR: web" {
		t.Fatalf("%v", f)
	}
	if supervisor.Code(12345).String() != "UNKNOWN" || supervisor.NewFault(supervisor.CodeSuccess, "").Error() != "SUCCESS" {
		t.Fatal("names")
	}
	if r := ResultOf("a", "g", nil); r.Status != supervisor.CodeSuccess || r.Description != "OK" {
		t.Fatal(r)
	}
	if r := ResultOf("a", "g", supervisor.NewFault(supervisor.CodeNotRunning, "g:a")); r.Status != supervisor.CodeNotRunning || r.Description != "NOT_RUNNING: g:a" {
		t.Fatal(r)
	}
}

func TestParseSignal(t *testing.T) {
	for in, want := range map[any]syscall.Signal{"HUP": 1, "sighup": 1, " term ": 15, "9": 9, 10: 10, "RTMIN": 34, "64": 64, "IOT": 6} {
		if got, ok := parseSignal(in); !ok || got != want {
			t.Errorf("parseSignal(%v) = %v %v", in, got, ok)
		}
	}
	for _, in := range []any{"", "FOO", "0", "32", "65", "-1", 1.5, true, "SIG"} {
		if _, ok := parseSignal(in); ok {
			t.Errorf("parseSignal(%v) accepted", in)
		}
	}
}
