package rpc

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/drover-sh/drover/internal/httpwire"
	"github.com/drover-sh/drover/internal/supervisor"
)

// The console's static files: plain CSS and JavaScript, no build step,
// nothing fetched from elsewhere.
//
//go:embed console/console.css console/console.js
var consoleFiles embed.FS

// consoleCookie holds the console session's random id; the CSRF token is
// derived from it (consoleToken).
const consoleCookie = "drover_console"

// maxFormBytes bounds an action's form body.
const maxFormBytes = 16 << 10

// consoleSecurity are the headers of every console answer: nothing but
// our own files runs or loads, and no other site frames the page.
var consoleSecurity = []httpwire.Field{
	{Name: "Content-Security-Policy", Value: "default-src 'none'; script-src 'self'; style-src 'self'; " +
		"img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"},
	{Name: "X-Content-Type-Options", Value: "nosniff"},
	{Name: "X-Frame-Options", Value: "DENY"},
	{Name: "Referrer-Policy", Value: "no-referrer"},
	{Name: "Cache-Control", Value: "no-store"},
}

// isConsolePath reports whether the console answers path (the page at /
// and its files and actions under /console/).
func isConsolePath(path string) bool {
	return path == "/" || strings.HasPrefix(path, "/console/")
}

// serveConsole answers the console's routes. Reads obey the access rules
// like drover.getAllProcessInfo; actions are the XML-RPC methods called
// for the caller, so the listener's read-only mode and the rules apply
// unchanged.
func (h *httpHandler) serveConsole(w *httpwire.ResponseWriter, r *httpwire.Request) {
	w.Header = append(w.Header, consoleSecurity...)
	path := r.Path()
	get := r.Method == "GET" || r.Method == "HEAD"
	switch {
	case path == "/" && get:
		h.consolePage(w, r)
	case path == "/console/rows" && get:
		h.consoleRows(w, r)
	case path == "/console/action" && r.Method == "POST":
		h.consoleAction(w, r)
	case (path == "/console/console.css" || path == "/console/console.js") && get:
		b, err := consoleFiles.ReadFile(strings.TrimPrefix(path, "/"))
		if err != nil {
			w.Error(404, "404 page not found")
			return
		}
		ct := "text/css; charset=utf-8"
		if strings.HasSuffix(path, ".js") {
			ct = "text/javascript; charset=utf-8"
		}
		w.Header.Set("Content-Type", ct)
		_ = w.Reply(200, b)
	case path == "/" || path == "/console/rows" || path == "/console/action":
		w.Header.Set("Allow", map[bool]string{true: "POST", false: "GET, HEAD"}[path == "/console/action"])
		w.Error(405, "405 Method Not Allowed")
	default:
		w.Error(404, "404 page not found")
	}
}

// consoleSession returns the session id of r's cookie, or a new one
// (fresh says so: the answer must set the cookie).
func consoleSession(r *httpwire.Request) (id string, fresh bool) {
	if id := cookie(r, consoleCookie); len(id) == 32 {
		if _, err := hex.DecodeString(id); err == nil {
			return id, false
		}
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:]), true
}

// cookie returns the value of r's cookie name, or "".
func cookie(r *httpwire.Request, name string) string {
	for _, line := range r.Header.Values("Cookie") {
		for part := range strings.SplitSeq(line, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && k == name {
				return v
			}
		}
	}
	return ""
}

// consoleToken is the CSRF token of session id for the caller of g: an
// HMAC under the server's key, so the server keeps no table of sessions,
// and a token taken from one caller's page is no use to another.
func (s *Server) consoleToken(id string, g grant) string {
	m := hmac.New(sha256.New, s.consoleKey[:])
	c := g.caller
	io.WriteString(m, id+"\x00"+c.User+"\x00"+strconv.FormatBool(c.Admin)+"\x00"+
		strconv.FormatBool(c.Unix)+"\x00"+strconv.FormatUint(uint64(c.UID), 10))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// newConsoleKey is a Server's CSRF key: tokens do not outlive the daemon.
func newConsoleKey() (k [32]byte) {
	_, _ = rand.Read(k[:])
	return k
}

// consoleAllowed says whether a POST carries its session's token (from
// the form or the X-Drover-Token header, compared in constant time) and,
// when the browser says where it comes from, comes from this page.
func (h *httpHandler) consoleAllowed(r *httpwire.Request, form url.Values) bool {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Header.Get("Host") {
			return false
		}
	}
	id := cookie(r, consoleCookie)
	if len(id) != 32 {
		return false
	}
	given := r.Header.Get("X-Drover-Token")
	if given == "" {
		given = form.Get("token")
	}
	want := h.s.consoleToken(id, grantFrom(r.Context()))
	return given != "" && subtle.ConstantTimeCompare([]byte(given), []byte(want)) == 1
}

// consoleActions map the console's buttons to API methods (the same
// access classes and checks).
var consoleActions = map[string]string{
	"start":    "supervisor.startProcess",
	"stop":     "supervisor.stopProcess",
	"signal":   "supervisor.signalProcess",
	"reload":   "drover.reloadProcess",
	"clearlog": "supervisor.clearProcessLogs",
}

func (h *httpHandler) consoleAction(w *httpwire.ResponseWriter, r *httpwire.Request) {
	js := r.Header.Get("X-Drover-Token") != ""
	fail := func(status int, msg string) {
		if js {
			w.Header.Set("Content-Type", "application/json")
			b, _ := json.Marshal(map[string]string{"error": msg})
			_ = w.Reply(status, b)
			return
		}
		w.Error(status, strconv.Itoa(status)+" "+httpwire.StatusText(status)+": "+msg)
	}
	body, err := io.ReadAll(&limitedBody{r: r.Body, n: maxFormBytes})
	if err != nil {
		w.SetClose()
		fail(413, "form too large")
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		fail(400, "bad form")
		return
	}
	if !h.consoleAllowed(r, form) {
		fail(403, "missing or wrong CSRF token (reload the page)")
		return
	}
	action, name, sig := form.Get("action"), form.Get("name"), form.Get("signal")
	ctx := r.Context()
	var calls [][2]any // method, params
	switch action {
	case "restart":
		calls = [][2]any{{"supervisor.stopProcess", []any{name, true}}, {"supervisor.startProcess", []any{name, false}}}
	case "signal":
		calls = [][2]any{{consoleActions[action], []any{name, sig}}}
	case "start", "stop":
		calls = [][2]any{{consoleActions[action], []any{name, false}}}
	case "reload", "clearlog":
		calls = [][2]any{{consoleActions[action], []any{name}}}
	default:
		fail(400, "unknown action "+strconv.Quote(action))
		return
	}
	if name == "" {
		fail(400, "no process named")
		return
	}
	// Every call is allowed before the first runs: a restart does not
	// stop what it may not start.
	for _, c := range calls {
		if _, err := h.s.d.check(ctx, c[0].(string), c[1].([]any)); err != nil {
			if errors.Is(err, errRefused) {
				fail(403, ToFault(err).Error())
			} else {
				fail(400, ToFault(err).Error())
			}
			return
		}
	}
	for i, c := range calls {
		_, err := h.s.d.call(ctx, c[0].(string), c[1].([]any))
		// Restarting a stopped process starts it.
		if err != nil && !(action == "restart" && i == 0 && ToFault(err).Code == supervisor.CodeNotRunning) {
			fail(409, ToFault(err).Error())
			return
		}
	}
	if js {
		w.Header.Set("Content-Type", "application/json")
		_ = w.Reply(200, []byte(`{"ok":true}`))
		return
	}
	// A form without JavaScript: back to the page, which shows the result.
	w.Header.Set("Location", "/")
	_ = w.Reply(303, nil)
}
