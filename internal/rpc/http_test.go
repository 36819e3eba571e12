package rpc

import (
	"github.com/drover-sh/drover/internal/supervisor"

	"bufio"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/httpwire"
	"github.com/drover-sh/drover/internal/testenv"
)

func listenInet(t *testing.T, s *Server, cred Credentials) string {
	t.Helper()
	if err := s.Listen([]ListenerConfig{{Section: "inet_http_server", Port: "127.0.0.1:0", Credentials: cred}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return "http://" + s.Addrs()[0].String()
}

func callURL(t *testing.T, url, user, pass, method string, args ...any) (any, error) {
	t.Helper()
	on := user != ""
	c, err := NewClientAuth(url, ClientAuth{Username: user, Password: pass, Calls: on, Streams: on})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Call(ctx, method, args...)
}

func TestUnixSocket(t *testing.T) {
	s, _ := newTestServer(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "s.sock")
	if err := s.Listen([]ListenerConfig{{Section: "unix_http_server", Unix: true, File: sock, UID: -1, GID: -1}}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(sock)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o700 {
		t.Fatalf("socket %v %v", fi, err)
	}
	if _, err := os.Stat(sock + "." + strconv.Itoa(os.Getpid())); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary socket left behind: %v", err)
	}
	v, err := callURL(t, "unix://"+sock, "", "", "supervisor.getPID")
	if err != nil || v != 4242 {
		t.Fatalf("getPID over unix = %v %v", v, err)
	}
	// A live socket is never clobbered.
	s2, _ := newTestServer(t)
	err = s2.Listen([]ListenerConfig{{Section: "unix_http_server", Unix: true, File: sock, UID: -1, GID: -1}})
	if !errors.Is(err, ErrAddrInUse) || !strings.Contains(err.Error(), "already listening") {
		t.Fatalf("second Listen = %v, want ErrAddrInUse", err)
	}
	if v, err := callURL(t, "unix://"+sock, "", "", "supervisor.getPID"); err != nil || v != 4242 {
		t.Fatalf("first server hurt by second: %v %v", v, err)
	}
	// Nor one whose server does not answer (frozen, out of fds): only a
	// refused connect proves a socket stale.
	mute := filepath.Join(dir, "mute.sock")
	mln, err := net.Listen("unix", mute)
	if err != nil {
		t.Fatal(err)
	}
	defer mln.Close()
	err = s2.Listen([]ListenerConfig{{Section: "unix_http_server", Unix: true, File: mute, UID: -1, GID: -1}})
	if !errors.Is(err, ErrAddrInUse) {
		t.Fatalf("Listen over a live socket that does not answer = %v, want ErrAddrInUse", err)
	}
	if c, err := net.Dial("unix", mute); err != nil {
		t.Fatalf("the mute server's socket was taken: %v", err)
	} else {
		c.Close()
	}
	s.Close()
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket not removed on Close: %v", err)
	}
	// A stale socket (nobody listening) is replaced.
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	s3, _ := newTestServer(t)
	if err := s3.Listen([]ListenerConfig{{Section: "unix_http_server", Unix: true, File: sock, Chmod: 0o770, UID: -1, GID: -1}}); err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	defer s3.Close()
	if fi, _ := os.Stat(sock); fi.Mode().Perm() != 0o770 {
		t.Fatalf("chmod not applied: %v", fi.Mode())
	}
	if err := s3.Listen([]ListenerConfig{{Section: "x", Unix: true, File: filepath.Join(dir, "missing", "s.sock")}}); err == nil {
		t.Fatal("bind in a missing directory succeeded")
	}
}

func TestParsePort(t *testing.T) {
	for in, want := range map[string]string{
		"9001": ":9001", ":9001": ":9001", "*:9001": ":9001", "127.0.0.1:9001": "127.0.0.1:9001",
		"localhost:80": "localhost:80", "[::1]:9001": "[::1]:9001",
	} {
		if got, err := ParsePort(in); err != nil || got != want {
			t.Errorf("ParsePort(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "host:", "1:70000", "127.0.0.1:-1"} {
		if _, err := ParsePort(in); err == nil {
			t.Errorf("ParsePort(%q) accepted", in)
		}
	}
}

func TestInetAuth(t *testing.T) {
	sum := sha1.Sum([]byte("s3cret"))
	for _, pass := range []string{"s3cret", "{SHA}" + hex.EncodeToString(sum[:])} {
		s, _ := newTestServer(t)
		url := listenInet(t, s, Credentials{Username: "user", Password: pass})
		if v, err := callURL(t, url, "user", "s3cret", "supervisor.getPID"); err != nil || v != 4242 {
			t.Fatalf("%s: good credentials: %v %v", pass, v, err)
		}
		for _, bad := range [][2]string{{"", ""}, {"user", "wrong"}, {"other", "s3cret"}, {"user", pass}} {
			if pass == "s3cret" && bad[1] == pass && bad[0] == "user" {
				continue
			}
			_, err := callURL(t, url, bad[0], bad[1], "supervisor.getPID")
			var he *HTTPError
			if !errors.As(err, &he) || he.StatusCode != 401 {
				t.Fatalf("%s: credentials %v: %v, want 401", pass, bad, err)
			}
		}
		// Every path is protected, and the challenge names realm "default".
		for _, path := range []string{"/RPC2", "/logtail/cat", "/mainlogtail", "/", "/index.html"} {
			resp, err := http.Get(url + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Basic realm="default"` {
				t.Fatalf("%s: %d %q", path, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		}
	}
}

// A body far over the limit is answered 413, not cut off by a reset
// while the client still sends it.
func TestOversizedBodyGets413(t *testing.T) {
	s, _ := newTestServer(t)
	url := listenInet(t, s, Credentials{})
	body := strings.Repeat("x", 8*DefaultMaxBodyBytes)
	for range 3 {
		resp, err := http.Post(url+"/RPC2", "text/xml", strings.NewReader(body))
		if err != nil {
			t.Fatalf("8 MiB body: %v, want a 413", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Fatalf("8 MiB body: %d, want 413", resp.StatusCode)
		}
	}
}

func TestHTTPErrors(t *testing.T) {
	s, _ := newTestServer(t)
	s.opts.MaxBodyBytes = 4096
	s.opts.ServerHeader = "drover/test"
	url := listenInet(t, s, Credentials{})
	post := func(path, body string) *http.Response {
		resp, err := http.Post(url+path, "text/xml", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	good := "<methodCall><methodName>supervisor.getPID</methodName></methodCall>"
	if r := post("/RPC2", good); r.StatusCode != 200 || r.Header.Get("Content-Type") != "text/xml" || r.Header.Get("Server") != "drover/test" {
		t.Fatalf("good call: %d %v", r.StatusCode, r.Header)
	}
	if r := post("/RPC2/anything?x=1", good); r.StatusCode != 200 {
		t.Fatalf("/RPC2 prefix: %d", r.StatusCode)
	}
	for name, body := range map[string]string{
		"malformed": "<methodCall><methodName>supervisor.getPID", "no method": "<methodCall/>", "empty": "",
	} {
		if r := post("/RPC2", body); r.StatusCode != 400 {
			t.Fatalf("%s: %d, want 400", name, r.StatusCode)
		}
	}
	if r := post("/RPC2", "<methodCall><methodName>a.b</methodName><params><param><value>"+
		strings.Repeat("x", 5000)+"</value></param></params></methodCall>"); r.StatusCode != 413 {
		t.Fatalf("oversized: %d, want 413", r.StatusCode)
	}
	resp, err := http.Get(url + "/RPC2")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("GET /RPC2: %d, want 400", resp.StatusCode)
	}
	resp, err = http.Get(url + "/nothing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("GET /nothing: %d", resp.StatusCode)
	}
	// Other methods on other paths: 400, as supervisord answers.
	if r := post("/nothing", "x"); r.StatusCode != 400 {
		t.Fatalf("POST /nothing: %d, want 400", r.StatusCode)
	}
	// A fault is HTTP 200 with a <fault>.
	_, err = callURL(t, url, "", "", "supervisor.getProcessInfo", "nope")
	var f *supervisor.Fault
	if !errors.As(err, &f) || f.Code != supervisor.CodeBadName || f.Detail != "nope" {
		t.Fatalf("fault over HTTP: %v", err)
	}
}

func TestUIHandler(t *testing.T) {
	f := newFake(t)
	s, err := New(Options{Backend: f, UI: func(w *httpwire.ResponseWriter, r *httpwire.Request) {
		w.Reply(200, []byte("ui "+r.Path()))
	}})
	if err != nil {
		t.Fatal(err)
	}
	url := listenInet(t, s, Credentials{})
	resp, err := http.Get(url + "/index.html")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := make([]byte, 100)
	n, _ := resp.Body.Read(b)
	if string(b[:n]) != "ui /index.html" {
		t.Fatalf("UI got %q", b[:n])
	}
	if _, err := New(Options{}); err == nil {
		t.Fatal("New without Backend succeeded")
	}
}

func TestReadOnlyListenerOverHTTP(t *testing.T) {
	s, _ := newTestServer(t)
	srv := &httpwire.Server{Handler: s.Handler(Credentials{}, true, false)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String()
	if v, err := callURL(t, url, "", "", "supervisor.getAllProcessInfo"); err != nil || len(v.([]any)) != 3 {
		t.Fatalf("read-only method refused: %v", err)
	}
	_, err = callURL(t, url, "", "", "supervisor.stopProcess", "cat")
	var f *supervisor.Fault
	if !errors.As(err, &f) || f.Code != supervisor.CodeFailed || !strings.Contains(f.Detail, "read-only") {
		t.Fatalf("write allowed on read-only listener: %v", err)
	}
}

// TestPythonClientOverHTTP runs Python's xmlrpc.client (supervisorctl's
// transport) against the server and reads a log full of control and
// invalid bytes, which supervisord answers with a 500 or broken XML.
func TestPythonClientOverHTTP(t *testing.T) {
	py := testenv.LookPath(t, "python3", "apt-get install python3")
	s, f := newTestServer(t)
	pi, _ := f.ProcessInfo(context.Background(), "cat")
	if err := os.WriteFile(pi.StdoutLogfile, []byte("a\x00b\x1b[0m\xff\xfe\r\nend"), 0o600); err != nil {
		t.Fatal(err)
	}
	url := listenInet(t, s, Credentials{Username: "u", Password: "p"})
	host := strings.TrimPrefix(url, "http://")
	script := `import sys, xmlrpc.client
p = xmlrpc.client.ServerProxy('http://u:p@' + sys.argv[1] + '/RPC2')
sys.stdout.buffer.write(p.supervisor.readProcessStdoutLog('cat', 0, 0).encode('utf-8'))
sys.stdout.buffer.write(b'|')
sys.stdout.buffer.write(p.supervisor.tailProcessStdoutLog('cat', 0, 100)[0].encode('utf-8'))`
	out, err := exec.Command(py, "-c", script, host).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	want := "a␀b␛[0m\uFFFD\uFFFD\r\nend"
	if string(out) != want+"|"+want {
		t.Fatalf("python read %q", out)
	}
}

// rawLogtail sends supervisorctl's exact logtail request (with its stray
// CRLF after the headers) and returns the reader after the headers.
func rawLogtail(t *testing.T, addr, path string) (net.Conn, *bufio.Reader, []string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	req := "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: chunked\r\nAccept: */*\r\n" +
		"User-agent: supervisor\r\n\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	var lines []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading headers: %v (%q)", err, lines)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return conn, br, lines
		}
		lines = append(lines, line)
	}
}

// readChunk reads one chunk of a chunked body.
func readChunk(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("chunk size: %v", err)
	}
	var n int
	for _, c := range strings.TrimSpace(line) {
		n = n*16 + strings.IndexRune("0123456789abcdef", c)
	}
	buf := make([]byte, n+2)
	if _, err := io.ReadFull(br, buf); err != nil {
		t.Fatalf("chunk body: %v", err)
	}
	return string(buf[:n])
}

func TestReadOnlyDecision(t *testing.T) {
	var logBuf strings.Builder
	log := slog.New(slog.NewTextHandler(&logBuf, nil))
	inet := ListenerConfig{Section: "inet_http_server"}
	for _, tc := range []struct {
		cfg  ListenerConfig
		addr net.Addr
		ro   bool
	}{
		{inet, &net.TCPAddr{IP: net.IPv4zero, Port: 9001}, true},
		{inet, &net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 9001}, true},
		{inet, &net.TCPAddr{IP: net.IPv6unspecified, Port: 9001}, true},
		{inet, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9001}, false},
		{inet, &net.TCPAddr{IP: net.IPv6loopback, Port: 9001}, false},
		{ListenerConfig{Credentials: Credentials{Username: "u", Password: "p"}}, &net.TCPAddr{IP: net.IPv4zero}, false},
		{ListenerConfig{Unix: true}, &net.UnixAddr{Name: "/x", Net: "unix"}, false},
	} {
		if got := reportAuth(log, tc.cfg, tc.addr); got != tc.ro {
			t.Errorf("%v %+v: read-only %v, want %v", tc.addr, tc.cfg, got, tc.ro)
		}
	}
	if !strings.Contains(logBuf.String(), "READ-ONLY") || !strings.Contains(logBuf.String(), "port=127.0.0.1:9001") {
		t.Fatalf("start-up report does not say how to fix it:\n%s", logBuf.String())
	}
}

func TestUnixChown(t *testing.T) {
	testenv.NeedRoot(t, "chown needs root")
	s, _ := newTestServer(t)
	sock := filepath.Join(t.TempDir(), "s.sock")
	if err := s.Listen([]ListenerConfig{{Unix: true, File: sock, UID: 65534, GID: 65534}}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65534 || st.Gid != 65534 {
		t.Fatalf("owner %d:%d", st.Uid, st.Gid)
	}
}

func TestClientErrors(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "unix://", "localhost:9001"} {
		if _, err := NewClientAuth(u, ClientAuth{}); err == nil {
			t.Errorf("NewClientAuth(%q) succeeded", u)
		}
	}
	c, err := NewClientAuth("unix://"+filepath.Join(t.TempDir(), "none.sock"), ClientAuth{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Call(context.Background(), "supervisor.getPID"); err == nil {
		t.Fatal("call to a missing socket succeeded")
	}
	for _, tc := range []struct {
		code      int
		s, detail string
	}{{10, "BAD_NAME: x: y", "x: y"}, {6, "SHUTDOWN_STATE", ""}, {99, "weird", "weird"}} {
		if f := parseFault(tc.code, tc.s); f.Code != supervisor.Code(tc.code) || f.Detail != tc.detail {
			t.Errorf("parseFault(%d, %q) = %+v", tc.code, tc.s, f)
		}
	}
}

func TestListenFailureCleansUp(t *testing.T) {
	s, _ := newTestServer(t)
	sock := filepath.Join(t.TempDir(), "s.sock")
	err := s.Listen([]ListenerConfig{
		{Section: "unix_http_server", Unix: true, File: sock, UID: -1, GID: -1},
		{Section: "inet_http_server", Port: "127.0.0.1:notaport"},
	})
	if err == nil || !strings.Contains(err.Error(), "inet_http_server") {
		t.Fatalf("Listen = %v, want an error naming the section", err)
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket of the first listener left behind: %v", err)
	}
	if len(s.Addrs()) != 0 {
		t.Fatal("failed Listen registered listeners")
	}
	s.Close()
	if err := s.Listen([]ListenerConfig{{Port: "127.0.0.1:0"}}); err == nil {
		t.Fatal("Listen after Close succeeded")
	}
}
