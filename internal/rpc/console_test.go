package rpc

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/drover-sh/drover/internal/httpwire"
	"github.com/drover-sh/drover/internal/supervisor"
)

// consoleClient is one browser session on the console: its cookie, its
// page's token, its Basic credentials.
type consoleClient struct {
	t          *testing.T
	base       string
	user, pass string
	cookie     string
	token      string
}

func (c *consoleClient) do(method, path string, body string, hdr map[string]string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	if c.cookie != "" {
		req.Header.Set("Cookie", c.cookie)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var tokenRe = regexp.MustCompile(`<meta name="drover-token" content="([^"]+)">`)

// open loads the page, keeping the session cookie and the token.
func (c *consoleClient) open() string {
	c.t.Helper()
	resp, page := c.do("GET", "/", "", nil)
	if resp.StatusCode != 200 {
		c.t.Fatalf("GET / as %q: %d %s", c.user, resp.StatusCode, page)
	}
	if sc := resp.Header.Get("Set-Cookie"); sc != "" {
		c.cookie, _, _ = strings.Cut(sc, ";")
	}
	m := tokenRe.FindStringSubmatch(page)
	if m == nil {
		c.t.Fatalf("no token in the page:\n%s", page)
	}
	c.token = m[1]
	return page
}

// act posts an action as the page's script does (token in the header).
func (c *consoleClient) act(action, name string) (int, string) {
	c.t.Helper()
	form := url.Values{"action": {action}, "name": {name}, "signal": {"HUP"}}.Encode()
	resp, body := c.do("POST", "/console/action", form, map[string]string{"X-Drover-Token": c.token})
	return resp.StatusCode, body
}

func TestConsoleRendersEveryProgramEscaped(t *testing.T) {
	s, f := newTestServer(t)
	evil := `<img src=x onerror="alert(1)">&`
	f.procs["g:"+evil] = &ProcessInfo{Group: "g", Name: evil, State: supervisor.Fatal, SpawnErr: "<b>bad</b>"}
	c := &consoleClient{t: t, base: listenInet(t, s, Credentials{})}
	page := c.open()
	for _, spec := range []string{"cat:cat", "g:a", "g:b"} {
		if !strings.Contains(page, `<tr class="program" data-spec="`+spec+`"`) {
			t.Errorf("no row for %s", spec)
		}
	}
	for _, want := range []string{
		`<th scope="row">cat</th><td class="state"><span class="badge s-running">RUNNING</span></td><td class="pid">100</td>`,
		// CPU and RSS of a running program's tree, dashes for a stopped one.
		`<td class="cpu">12.3%</td><td class="rss">3.0M</td>`,
		`<th scope="row">a</th><td class="state"><span class="badge s-stopped">STOPPED</span></td><td class="pid"></td><td class="uptime"></td><td class="cpu">—</td><td class="rss">—</td>`, `<th scope="rowgroup" colspan="9">g</th>`,
		`<th scope="row">&lt;img src=x onerror=&#34;alert(1)&#34;&gt;&amp;</th>`, `&lt;b&gt;bad&lt;/b&gt;`,
		`<th scope="col">CPU</th><th scope="col">RSS</th>`, `aria-label="Stop g:b"`, `aria-live="polite"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<img") || strings.Contains(page, "<b>bad") {
		t.Errorf("a name reached the page unescaped:\n%s", page)
	}
	// The rows the script reads: the same programs, as JSON.
	resp, body := c.do("GET", "/console/rows", "", nil)
	var v consoleView
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &v) != nil || len(v.Rows) != 4 || v.Rows[0].Spec != "cat:cat" ||
		v.Rows[0].PID != 100 || v.Rows[0].Start == 0 || v.Rows[0].Uptime == "" || v.Rows[0].CPU != "12.3%" || v.Rows[0].RSS != "3.0M" {
		t.Fatalf("GET /console/rows: %d %s", resp.StatusCode, body)
	}
	// The files are embedded, the page loads nothing else.
	for _, p := range []string{"/console/console.js", "/console/console.css"} {
		if resp, body := c.do("GET", p, "", nil); resp.StatusCode != 200 || len(body) < 100 {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
	if resp, _ := c.do("GET", "/console/nothing", "", nil); resp.StatusCode != 404 {
		t.Errorf("GET /console/nothing: %d", resp.StatusCode)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	if regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(page) {
		t.Error("the page loads something from elsewhere")
	}
}

func TestConsoleCSRF(t *testing.T) {
	s, f := newTestServer(t)
	c := &consoleClient{t: t, base: listenInet(t, s, Credentials{})}
	c.open()
	stopped := func() bool { pi, _ := f.ProcessInfo(t.Context(), "g:b"); return pi.State != supervisor.Running }
	form := url.Values{"action": {"stop"}, "name": {"g:b"}}.Encode()
	for _, tc := range []struct {
		what   string
		cookie string
		hdr    map[string]string
		form   string
	}{
		{"no token", c.cookie, nil, form},
		{"wrong token", c.cookie, map[string]string{"X-Drover-Token": c.token[:len(c.token)-2] + "xx"}, form},
		{"token without its session", "", map[string]string{"X-Drover-Token": c.token}, form},
		{"another session's cookie", consoleCookie + "=0123456789abcdef0123456789abcdef", map[string]string{"X-Drover-Token": c.token}, form},
		{"another origin", c.cookie, map[string]string{"X-Drover-Token": c.token, "Origin": "http://evil.example"}, form},
	} {
		cc := *c
		cc.cookie = tc.cookie
		resp, body := cc.do("POST", "/console/action", tc.form, tc.hdr)
		if resp.StatusCode != 403 || stopped() {
			t.Errorf("%s: %d %s (stopped: %v), want 403", tc.what, resp.StatusCode, body, stopped())
		}
	}
	// The form's own token (no script): a 303 back to the page.
	resp, body := c.do("POST", "/console/action", form+"&token="+url.QueryEscape(c.token), nil)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/" || !stopped() {
		t.Fatalf("form POST with the token: %d %s", resp.StatusCode, body)
	}
	// The script's: JSON.
	if code, body := c.act("start", "g:b"); code != 200 || body != `{"ok":true}` || stopped() {
		t.Fatalf("start: %d %s", code, body)
	}
	if code, body := c.act("restart", "g:a"); code != 200 {
		t.Fatalf("restart of a stopped process: %d %s", code, body)
	}
	if code, body := c.act("stop", "nosuch"); code != 409 || !strings.Contains(body, "BAD_NAME") {
		t.Fatalf("stop nosuch: %d %s", code, body)
	}
	if code, body := c.act("explode", "g:b"); code != 400 {
		t.Fatalf("unknown action: %d %s", code, body)
	}
	// GET does not act.
	if resp, _ := c.do("GET", "/console/action?action=stop&name=g:b&token="+url.QueryEscape(c.token), "", nil); resp.StatusCode != 405 || stopped() {
		t.Fatalf("GET /console/action: %d", resp.StatusCode)
	}
}

func TestConsoleReadOnlyListener(t *testing.T) {
	s, f := newTestServer(t)
	srv := &httpwire.Server{Handler: s.Handler(Credentials{}, true, false)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	c := &consoleClient{t: t, base: "http://" + ln.Addr().String()}
	page := c.open()
	if !strings.Contains(page, `data-spec="g:b"`) || strings.Contains(page, `action="/console/action"`) ||
		!strings.Contains(page, "read-only") {
		t.Fatalf("read-only page:\n%s", page)
	}
	for _, a := range []string{"stop", "restart", "signal", "reload", "clearlog"} {
		if code, body := c.act(a, "g:b"); code != 403 || !strings.Contains(body, "read-only listener") {
			t.Errorf("%s on a read-only listener: %d %s", a, code, body)
		}
	}
	if pi, _ := f.ProcessInfo(t.Context(), "g:b"); pi.State != supervisor.Running {
		t.Fatal("a read-only listener stopped g:b")
	}
}

// The console obeys the [access:x] rules as the XML-RPC API does (users
// and rules of accessServer).
func TestConsoleAccessRules(t *testing.T) {
	base, log, f := accessServer(t)
	ops := &consoleClient{t: t, base: base, user: "ops", pass: "test"}
	if page := ops.open(); strings.Count(page, `<tr class="program"`) != 3 {
		t.Fatalf("ops reads everything:\n%s", page)
	}
	if code, body := ops.act("stop", "g:b"); code != 403 || !strings.Contains(body, "access denied: ops") || !strings.Contains(body, "may not control g:b") {
		t.Fatalf("ops stops g:b: %d %s", code, body)
	}
	deploy := &consoleClient{t: t, base: base, user: "deploy", pass: "d3ploy"}
	page := deploy.open()
	if strings.Contains(page, `data-spec="cat:cat"`) || !strings.Contains(page, `data-spec="g:b"`) {
		t.Fatalf("deploy sees only g:*:\n%s", page)
	}
	if code, body := deploy.act("stop", "cat"); code != 403 || !strings.Contains(body, "access denied") {
		t.Fatalf("deploy stops cat: %d %s", code, body)
	}
	if code, _ := deploy.act("restart", "cat"); code != 403 {
		t.Fatalf("deploy restarts cat: %d", code)
	}
	if pi, _ := f.ProcessInfo(t.Context(), "cat"); pi.State != supervisor.Running {
		t.Fatal("cat was stopped")
	}
	if code, _ := deploy.act("stop", "g:b"); code != 200 {
		t.Fatalf("deploy stops g:b: %d", code)
	}
	// A token is bound to its caller: ops's page does not let deploy act.
	stolen := *deploy
	stolen.cookie, stolen.token = ops.cookie, ops.token
	if code, _ := stolen.act("start", "g:b"); code != 403 {
		t.Fatalf("deploy with ops's session: %d", code)
	}
	intruder := &consoleClient{t: t, base: base, user: "intruder", pass: "x"}
	if resp, _ := intruder.do("GET", "/", "", nil); resp.StatusCode != 403 {
		t.Fatalf("intruder reads the page: %d", resp.StatusCode)
	}
	if resp, _ := (&consoleClient{t: t, base: base}).do("GET", "/", "", nil); resp.StatusCode != 401 {
		t.Fatalf("no credentials: %d", resp.StatusCode)
	}
	if !strings.Contains(log.String(), "ops") {
		t.Errorf("the refusals are not audited:\n%s", log.String())
	}
}

// The console is served on the unix socket too (ssh -L to it works).
func TestConsoleOnUnixSocket(t *testing.T) {
	s, _ := newTestServer(t)
	sock := filepath.Join(t.TempDir(), "s.sock")
	if err := s.Listen([]ListenerConfig{{Section: "unix_http_server", Unix: true, File: sock, UID: -1, GID: -1}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	resp, err := c.Get("http://localhost/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `data-spec="g:b"`) || !strings.Contains(string(b), `action="/console/action"`) {
		t.Fatalf("GET / on the unix socket: %d\n%s", resp.StatusCode, b)
	}
}

// BenchmarkConsole500 is the daemon's side of the console on 500
// programs: the page (GET /) and the rows the script re-reads on an event
// (GET /console/rows), without the socket.
//
//	go test -run '^$' -bench Console500 -benchmem ./internal/rpc/
func BenchmarkConsole500(b *testing.B) {
	s, err := New(Options{Backend: newBigBackend(b, 500)})
	if err != nil {
		b.Fatal(err)
	}
	h := &httpHandler{s: s}
	ctx := context.Background()
	b.Run("page", func(b *testing.B) {
		for b.Loop() {
			v, err := h.consoleView(ctx)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(renderConsole(v, "bench", "token"))))
		}
	})
	b.Run("rows", func(b *testing.B) {
		for b.Loop() {
			v, err := h.consoleView(ctx)
			if err != nil {
				b.Fatal(err)
			}
			j, _ := json.Marshal(v)
			b.SetBytes(int64(len(j)))
		}
	})
}
