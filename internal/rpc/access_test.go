package rpc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/access"
	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/supervisor"
	"golang.org/x/crypto/bcrypt"
)

// lockedBuffer is a log sink tests read while the server writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// accessServer serves the fake backend (processes cat, g:a, g:b) on an
// inet listener whose own user is admin/secret, with network users and
// rules: deploy controls g:*, ops reads everything, intruder has no rule.
func accessServer(t *testing.T) (string, *lockedBuffer, *fakeBackend) {
	t.Helper()
	s, f := newTestServer(t)
	url, log := accessServerOn(t, s)
	return url, log, f
}

// accessServerOn is accessServer on s.
func accessServerOn(t *testing.T, s *Server) (string, *lockedBuffer) {
	t.Helper()
	var log lockedBuffer
	s.opts.Logger = slog.New(slog.NewTextHandler(&log, nil))
	hash, err := bcrypt.GenerateFromPassword([]byte("d3ploy"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	s.SetAccess(Access{
		Users: []NetUser{{"deploy", string(hash)}, {"ops", "{SHA}" + "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"}, {"intruder", "x"}},
		Policy: access.New(config.Access{Rules: []config.AccessRule{
			{Users: []string{"deploy"}, Control: []string{"g:*"}, Admin: []string{"g:b"}},
			{Users: []string{"ops"}, Read: []string{"*"}},
		}}),
	})
	return listenInet(t, s, Credentials{Username: "admin", Password: "secret"}), &log
}

// Each user gets what its rules grant over the network API, a refusal is
// a FAILED fault naming the user, the verb and the target, lists show
// only what may be read, and every refusal and change is audited.
func TestAccessRulesOverTheNetwork(t *testing.T) {
	url, log, f := accessServer(t)
	call := func(user, pass, method string, args ...any) error {
		_, err := callURL(t, url, user, pass, method, args...)
		return err
	}
	denied := func(err error) bool {
		var fl *supervisor.Fault
		return errors.As(err, &fl) && fl.Code == supervisor.CodeFailed && strings.HasPrefix(fl.Detail, "access denied: ")
	}
	for _, c := range []struct {
		user, pass, method string
		args               []any
		allowed            bool
	}{
		{"deploy", "d3ploy", "supervisor.stopProcess", []any{"g:b"}, true},
		{"deploy", "d3ploy", "supervisor.startProcessGroup", []any{"g"}, true},
		{"deploy", "d3ploy", "supervisor.stopProcess", []any{"cat"}, false},
		{"deploy", "d3ploy", "supervisor.stopAllProcesses", nil, false},
		{"deploy", "d3ploy", "supervisor.shutdown", nil, false},
		{"deploy", "d3ploy", "supervisor.getProcessInfo", []any{"g:a"}, true},
		{"deploy", "d3ploy", "supervisor.getProcessInfo", []any{"cat"}, false},
		{"deploy", "d3ploy", "supervisor.clearProcessLogs", []any{"g:b"}, true},
		{"deploy", "d3ploy", "supervisor.clearProcessLogs", []any{"g:a"}, false},
		{"deploy", "d3ploy", "supervisor.getState", nil, true},
		{"deploy", "d3ploy", "supervisor.readLog", []any{0, 10}, false},
		{"ops", "test", "supervisor.getProcessInfo", []any{"cat"}, true},
		{"ops", "test", "supervisor.readLog", []any{0, 10}, true},
		{"ops", "test", "supervisor.stopProcess", []any{"g:b"}, false},
		{"ops", "test", "supervisor.reloadConfig", nil, false},
		{"intruder", "x", "supervisor.getState", nil, false},
		{"intruder", "x", "supervisor.getProcessInfo", []any{"cat"}, false},
		{"admin", "secret", "supervisor.stopProcess", []any{"cat"}, true},
	} {
		err := call(c.user, c.pass, c.method, c.args...)
		if c.allowed && denied(err) || !c.allowed && !denied(err) {
			t.Errorf("%s %s%v: %v, allowed %v", c.user, c.method, c.args, err, c.allowed)
		}
	}
	// The refusal says who, which verb, on what.
	err := call("deploy", "d3ploy", "supervisor.stopProcess", "cat")
	if err == nil || !strings.Contains(err.Error(), "access denied: deploy@127.0.0.1:") || !strings.Contains(err.Error(), "may not control cat (supervisor.stopProcess)") {
		t.Errorf("refusal %v", err)
	}
	// A multicall's calls are checked one by one.
	v, err := callURL(t, url, "deploy", "d3ploy", "system.multicall", []any{
		map[string]any{"methodName": "supervisor.stopProcess", "params": []any{"cat"}},
		map[string]any{"methodName": "supervisor.stopProcess", "params": []any{"g:b"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := v.([]any); len(r) != 2 || !strings.Contains(r[0].(map[string]any)["faultString"].(string), "access denied") || r[1] != true {
		t.Fatalf("multicall %v", r)
	}
	// Lists show what may be read.
	v, err = callURL(t, url, "deploy", "d3ploy", "supervisor.getAllProcessInfo")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, pi := range v.([]any) {
		names = append(names, pi.(map[string]any)["group"].(string)+":"+pi.(map[string]any)["name"].(string))
	}
	if strings.Join(names, " ") != "g:a g:b" {
		t.Fatalf("deploy sees %v", names)
	}
	// Audit: refusals and changes, not reads.
	l := log.String()
	for _, want := range []string{
		"audit: deploy@127.0.0.1:", ": supervisor.stopProcess g:b: OK", ": supervisor.stopProcess cat: FAILED: access denied",
		": supervisor.shutdown: FAILED: access denied", "audit: admin@127.0.0.1:", ": supervisor.stopProcess cat: OK",
		"audit: intruder@127.0.0.1:", ": supervisor.getState: FAILED: access denied: intruder@127.0.0.1:",
		"no [access:x] rule names it",
	} {
		if !strings.Contains(l, want) {
			t.Errorf("audit log lacks %q:\n%s", want, l)
		}
	}
	if strings.Contains(l, "getProcessInfo g:a: OK") {
		t.Error("an allowed read was audited")
	}
	_ = f
}

// Ten failed logins from an address lock it out for the rest of the
// minute, even with the right password; loopback clients, who share one
// address with every local user, are never locked out.
func TestFailedLoginsAreLimited(t *testing.T) {
	var l limiter
	now := time.Now()
	for range authFailures {
		if l.locked("192.0.2.7:4000", now) {
			t.Fatal("locked before the tenth failure")
		}
		l.failed("192.0.2.7:4000", now)
	}
	if !l.locked("192.0.2.7:5000", now.Add(time.Second)) {
		t.Fatal("not locked after ten failures (another port, same address)")
	}
	if l.locked("192.0.2.8:4000", now) {
		t.Fatal("another address locked")
	}
	if l.locked("192.0.2.7:4000", now.Add(authWindow)) {
		t.Fatal("still locked after the window")
	}
	for addr, want := range map[string]bool{"127.0.0.1:1": false, "[::1]:1": false, "[::ffff:127.0.0.2]:1": false,
		"10.0.0.1:1": true, "[2001:db8::1]:1": true, "not an address": true} {
		if got := lockable(addr); got != want {
			t.Errorf("lockable(%q) = %v", addr, got)
		}
	}
	// Through the server, from loopback: failures do not lock the right
	// password out.
	url, _, _ := accessServer(t)
	for range authFailures + 1 {
		if _, err := callURL(t, url, "deploy", "wrong", "supervisor.getState"); err == nil {
			t.Fatal("a wrong password got in")
		}
	}
	if _, err := callURL(t, url, "deploy", "d3ploy", "supervisor.getState"); err != nil {
		t.Fatalf("the right password from loopback after %d failures: %v", authFailures+1, err)
	}
}

// Log streams follow the same rules: a process log needs read on it, the
// main log read on everything; a refused stream is a 404 (no name is
// confirmed) and an audit line.
func TestAccessRulesOnLogStreams(t *testing.T) {
	url, log, f := accessServer(t)
	pi, _ := f.ProcessInfo(context.Background(), "g:b")
	appendFile(t, pi.StdoutLogfile, "out\n")
	status := func(user, pass, path string) int {
		req, err := http.NewRequest("GET", url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(user, pass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close() // a stream ends when its client leaves
		return resp.StatusCode
	}
	for _, c := range []struct {
		user, pass, path string
		want             int
	}{
		{"deploy", "d3ploy", "/logtail/g:b", 200},
		{"deploy", "d3ploy", "/logtail/cat", 404},
		{"deploy", "d3ploy", "/mainlogtail", 404},
		{"ops", "test", "/mainlogtail", 200},
		{"intruder", "x", "/logtail/g:b", 404},
	} {
		if got := status(c.user, c.pass, c.path); got != c.want {
			t.Errorf("%s GET %s: %d, want %d", c.user, c.path, got, c.want)
		}
	}
	l := log.String()
	for _, want := range []string{
		": GET /logtail cat: FAILED: access denied: deploy@127.0.0.1:",
		": GET /mainlogtail: FAILED: access denied: deploy@127.0.0.1:",
		": GET /logtail g:b: FAILED: access denied: intruder@127.0.0.1:",
	} {
		if !strings.Contains(l, want) {
			t.Errorf("audit log lacks %q:\n%s", want, l)
		}
	}
}

// A listener without username= serves clients that send credentials
// anyway, as supervisord does (a [supervisorctl] username= meant for
// another server, Ansible's module passing -u/-p): they are ignored,
// unless they name a [user:x], whose password must then be right.
func TestCredentialsOnAListenerWithoutAuth(t *testing.T) {
	s, _ := newTestServer(t)
	s.SetAccess(Access{Users: []NetUser{{"deploy", "d3ploy"}}})
	sock := filepath.Join(t.TempDir(), "s.sock")
	if err := s.Listen([]ListenerConfig{{Section: "unix_http_server", Unix: true, File: sock, UID: -1, GID: -1},
		{Section: "inet_http_server", Port: "127.0.0.1:0"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	inet := "http://" + s.Addrs()[1].String()
	for _, c := range []struct {
		url, user, pass string
		ok              bool
	}{
		{"unix://" + sock, "someone", "anything", true},
		{"unix://" + sock, "deploy", "wrong", true}, // the socket knows callers by their uid
		{inet, "someone", "anything", true},
		{inet, "deploy", "d3ploy", true},
		{inet, "deploy", "wrong", false},
	} {
		_, err := callURL(t, c.url, c.user, c.pass, "supervisor.getPID")
		if (err == nil) != c.ok {
			t.Errorf("%s as %s/%s: %v, want served %v", c.url, c.user, c.pass, err, c.ok)
		}
	}
}

// The combined log has only the logs the caller may read; 404 when none.
func TestAccessRulesOnLogtailAll(t *testing.T) {
	url, _, f := accessServer(t)
	b, _ := f.ProcessInfo(context.Background(), "g:b")
	cat, _ := f.ProcessInfo(context.Background(), "cat")
	appendFile(t, b.StdoutLogfile, "out\n")
	appendFile(t, cat.StdoutLogfile, "secret\n")
	get := func(user, pass string) *http.Response {
		req, _ := http.NewRequest("GET", url+"/logtail/all", nil)
		req.SetBasicAuth(user, pass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := get("intruder", "x"); resp.StatusCode != 404 {
		t.Errorf("intruder: %d", resp.StatusCode)
		resp.Body.Close()
	} else {
		resp.Body.Close()
	}
	resp := get("deploy", "d3ploy")
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("deploy: %d", resp.StatusCode)
	}
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "g:b | out\n" {
		t.Fatalf("first line %q %v", line, err)
	}
	appendFile(t, cat.StdoutLogfile, "later\n")
	appendFile(t, b.StdoutLogfile, "more\n")
	if line, err = br.ReadString('\n'); err != nil || line != "g:b | more\n" {
		t.Fatalf("next line %q %v (deploy may not read cat)", line, err)
	}
}
