package rpc

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drover-sh/drover/internal/access"
	"github.com/drover-sh/drover/internal/httpwire"
	"github.com/drover-sh/drover/internal/rpc/xmlrpc"
)

// DefaultMaxBodyBytes bounds an XML-RPC request body.
const DefaultMaxBodyBytes = 1 << 20

// Options configure a Server. Backend is required.
type Options struct {
	Backend Backend
	// SupervisorVersion is what getSupervisorVersion returns and what
	// `supervisorctl version` prints.
	SupervisorVersion string
	// ServerHeader is sent as the HTTP Server header, e.g. "drover/0.1".
	ServerHeader string
	// Logger receives request errors and listener reports; nil discards.
	Logger *slog.Logger
	// Now is the clock for getProcessInfo's now and uptime; nil is
	// time.Now.
	Now func() time.Time
	// UI serves every path that is not /RPC2*, /logtail*, /mainlogtail*
	// /events or the console's (/ and /console/...); nil answers 404.
	// Auth applies.
	UI httpwire.Handler
	// MaxBodyBytes bounds request bodies (413 beyond); 0 means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
}

// Access is who may get in and what each may do: the [user:x] network
// users and the [access:x] rules (nil or empty: every caller that gets in
// may do everything). The daemon sets it at start-up and on every config
// change (SetAccess).
type Access struct {
	Users  []NetUser
	Policy *access.Policy
}

// Server is the control API: one method table and the HTTP listeners
// serving it. It is safe for concurrent use.
type Server struct {
	opts Options
	d    *dispatcher
	log  *slog.Logger

	// done is closed by Close; streams (logtail) end on it.
	done      chan struct{}
	closeOnce sync.Once

	mu        sync.Mutex
	listeners []*listener
	// streams counts running log streams; Close waits for them.
	streams sync.WaitGroup
	// nstreams counts them for the cap (maxConns); watcher is their
	// one inotify instance.
	nstreams int
	watcher  watcher
	// maxConns caps each listener's connections and the log streams.
	maxConns int
	// onStreamEnd, if set (tests), runs when a log stream has ended.
	onStreamEnd func()
	// bufs holds *[]byte answer buffers for reuse.
	bufs sync.Pool
	// limit locks out addresses that fail to authenticate too often.
	limit limiter
	// access is the current Access.
	access atomic.Pointer[Access]
	// consoleKey signs the console's CSRF tokens.
	consoleKey [32]byte
	// events fans the supervisor's events out to GET /events.
	events eventHub
	// metricsSize is the length of the last /metrics answer.
	metricsSize atomic.Int64
}

// SetAccess replaces the users and rules; requests that began keep the
// ones they started with.
func (s *Server) SetAccess(a Access) { s.access.Store(&a) }

func (s *Server) currentAccess() *Access {
	if a := s.access.Load(); a != nil {
		return a
	}
	return &Access{}
}

// maxPooledAnswer bounds the answer buffers kept for reuse (a status of
// 1,000 programs' structs fits).
const maxPooledAnswer = 2 << 20

// New returns a Server over opts.Backend. It does not listen yet.
func New(opts Options) (*Server, error) {
	if opts.Backend == nil {
		return nil, errors.New("rpc: Options.Backend is nil")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.ServerHeader == "" {
		opts.ServerHeader = "drover"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, log: log, done: make(chan struct{}), maxConns: connCap(),
		consoleKey: newConsoleKey()}
	s.d = newDispatcher(opts.Backend, &s.opts)
	return s, nil
}

// Call runs one method in-process, as an authenticated client would (for
// a JSON API or tests). Faults are returned as *Fault errors.
func (s *Server) Call(ctx context.Context, method string, params ...any) (any, error) {
	if params == nil {
		params = []any{}
	}
	v, err := s.d.call(ctx, method, params)
	if err != nil {
		return nil, ToFault(err)
	}
	return v, nil
}

// Methods lists every callable method name, sorted.
func (s *Server) Methods() []string { return s.d.names() }

// Handler returns the HTTP handler for one listener: cred is its
// username/password ("" username: no auth); readOnly restricts the RPC
// methods to read-only ones; unix says the listener is a unix socket (its
// callers are known by their credentials).
func (s *Server) Handler(cred Credentials, readOnly, unix bool) httpwire.Handler {
	h := &httpHandler{s: s, cred: cred, readOnly: readOnly, unix: unix}
	return h.serve
}

type httpHandler struct {
	s        *Server
	cred     Credentials
	readOnly bool
	unix     bool
}

func (h *httpHandler) serve(w *httpwire.ResponseWriter, r *httpwire.Request) {
	w.Header = append(w.Header, httpwire.Field{Name: "Server", Value: h.s.opts.ServerHeader})
	now := time.Now()
	limited := !h.unix && lockable(r.RemoteAddr)
	if limited && h.s.limit.locked(r.RemoteAddr, now) {
		w.SetClose()
		w.Error(429, "429 Too Many Requests: too many failed logins from this address")
		return
	}
	acc := h.s.currentAccess()
	caller, ok := identify(r, h.cred, h.unix, acc.Users)
	if !ok {
		if limited {
			h.s.limit.failed(r.RemoteAddr, now)
		}
		// Closed after the answer: an unauthenticated client holds no
		// connection (nor a body read) past it.
		w.SetClose()
		w.Header.Set("WWW-Authenticate", `Basic realm="default"`)
		w.Error(401, "401 Unauthorized")
		return
	}
	g := grant{readOnly: h.readOnly, rights: acc.Policy.Rights(caller), caller: caller, policy: acc.Policy}
	r = r.WithContext(withGrant(r.Context(), g))
	uri := r.Target
	switch {
	case strings.HasPrefix(uri, "/RPC2"):
		h.serveRPC(w, r)
	case strings.HasPrefix(uri, "/logtail"):
		h.s.serveLogtail(w, r, false)
	case strings.HasPrefix(uri, "/mainlogtail"):
		h.s.serveLogtail(w, r, true)
	case uri == "/events" || strings.HasPrefix(uri, "/events?"):
		h.s.serveEvents(w, r)
	case isConsolePath(r.Path()):
		h.serveConsole(w, r)
	case isMetricsPath(uri):
		h.s.serveMetrics(w, r)
	case h.s.opts.UI != nil:
		h.s.opts.UI(w, r)
	case r.Method != "GET" && r.Method != "HEAD":
		// supervisord answers other methods on other paths with 400.
		w.Error(400, "400 Bad Request")
	default:
		w.Error(404, "404 page not found")
	}
}

// errBodyTooBig ends a request body past Options.MaxBodyBytes.
var errBodyTooBig = errors.New("request body too large")

// limitedBody reads at most n bytes, then fails with errBodyTooBig.
type limitedBody struct {
	r io.Reader
	n int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.n <= 0 {
		var one [1]byte
		if k, _ := l.r.Read(one[:]); k > 0 {
			return 0, errBodyTooBig
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	k, err := l.r.Read(p)
	l.n -= int64(k)
	return k, err
}

func (h *httpHandler) serveRPC(w *httpwire.ResponseWriter, r *httpwire.Request) {
	if r.Method != "POST" {
		w.Error(400, "400 Bad Request: XML-RPC needs POST")
		return
	}
	if r.ContentLength > h.s.opts.MaxBodyBytes {
		w.SetClose()
		w.Error(413, "413 Request Entity Too Large")
		return
	}
	body := &limitedBody{r: r.Body, n: h.s.opts.MaxBodyBytes}
	req, err := xmlrpc.DecodeRequest(body)
	if err != nil {
		if errors.Is(err, errBodyTooBig) {
			w.SetClose()
			w.Error(413, "413 Request Entity Too Large")
			return
		}
		h.s.log.Warn("XML-RPC request is invalid", "remote", r.RemoteAddr, "err", err)
		w.Error(400, "400 Bad Request")
		return
	}
	// Drain so a keep-alive connection stays usable after a large body.
	_, _ = io.Copy(io.Discard, body)

	v, err := h.s.d.call(r.Context(), req.Method, req.Params)
	// The answer is built in one buffer sized by the method's last
	// answer (a 500-program getAllProcessInfo is ~600 kB: growing a
	// buffer to that size costs more than encoding it), taken from a pool
	// (allocating it for every status made the daemon collect garbage
	// every few calls).
	hint := h.s.d.sizeHint(req.Method)
	bp, _ := h.s.bufs.Get().(*[]byte)
	if bp == nil || int64(cap(*bp)) < hint.Load()+512 {
		b := make([]byte, 0, hint.Load()+512)
		bp = &b
	}
	defer func() {
		if cap(*bp) <= maxPooledAnswer {
			h.s.bufs.Put(bp)
		}
	}()
	buf := (*bp)[:0]
	if err != nil {
		f := ToFault(err)
		buf = xmlrpc.AppendFault(buf, int(f.Code), f.Error())
	} else if buf, err = xmlrpc.AppendResponse(buf, v); err != nil {
		h.s.log.Error("cannot encode XML-RPC response", "method", req.Method, "err", err)
		w.Error(500, "500 Internal Server Error")
		return
	}
	hint.Store(int64(len(buf)))
	*bp = buf
	w.Header = append(w.Header, httpwire.Field{Name: "Content-Type", Value: "text/xml"})
	_ = w.Reply(200, buf)
}
