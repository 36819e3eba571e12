package rpc

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

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
	// UI serves every path that is not /RPC2*, /logtail* or
	// /mainlogtail* (the web status page); nil answers 404. Auth applies.
	UI http.Handler
	// MaxBodyBytes bounds request bodies (413 beyond); 0 means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
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
	// onStreamEnd, if set (tests), runs when a log stream has ended.
	onStreamEnd func()
	// bufs holds *[]byte answer buffers for reuse.
	bufs sync.Pool
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
	s := &Server{opts: opts, log: log, done: make(chan struct{})}
	s.d = newDispatcher(opts.Backend, &s.opts)
	return s, nil
}

// Call runs one method in-process, as an authenticated client would (for
// a JSON API or tests). Faults are returned as *Fault errors.
func (s *Server) Call(ctx context.Context, method string, params ...any) (any, error) {
	if params == nil {
		params = []any{}
	}
	v, err := s.d.call(ctx, method, params, false)
	if err != nil {
		return nil, ToFault(err)
	}
	return v, nil
}

// Methods lists every callable method name, sorted.
func (s *Server) Methods() []string { return s.d.names() }

// Handler returns the HTTP handler for one listener: cred is its
// username/password ("" username: no auth); readOnly restricts the RPC
// methods to read-only ones.
func (s *Server) Handler(cred Credentials, readOnly bool) http.Handler {
	return &httpHandler{s: s, cred: cred, readOnly: readOnly}
}

type httpHandler struct {
	s        *Server
	cred     Credentials
	readOnly bool
}

func (h *httpHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Server", h.s.opts.ServerHeader)
	if !h.cred.allow(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="default"`)
		http.Error(w, "401 Unauthorized", http.StatusUnauthorized)
		return
	}
	uri := r.RequestURI
	switch {
	case strings.HasPrefix(uri, "/RPC2"):
		h.serveRPC(w, r)
	case strings.HasPrefix(uri, "/logtail"):
		h.s.serveLogtail(w, r, false)
	case strings.HasPrefix(uri, "/mainlogtail"):
		h.s.serveLogtail(w, r, true)
	case h.s.opts.UI != nil:
		h.s.opts.UI.ServeHTTP(w, r)
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		// supervisord answers other methods on other paths with 400.
		http.Error(w, "400 Bad Request", http.StatusBadRequest)
	default:
		http.NotFound(w, r)
	}
}

func (h *httpHandler) serveRPC(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "400 Bad Request: XML-RPC needs POST", http.StatusBadRequest)
		return
	}
	body := http.MaxBytesReader(w, r.Body, h.s.opts.MaxBodyBytes)
	req, err := xmlrpc.DecodeRequest(body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "413 Request Entity Too Large", http.StatusRequestEntityTooLarge)
			return
		}
		h.s.log.Warn("XML-RPC request is invalid", "remote", r.RemoteAddr, "err", err)
		http.Error(w, "400 Bad Request", http.StatusBadRequest)
		return
	}
	// Drain so a keep-alive connection stays usable after a large body.
	_, _ = io.Copy(io.Discard, body)

	v, err := h.s.d.call(r.Context(), req.Method, req.Params, h.readOnly)
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
		buf = xmlrpc.AppendFault(buf, f.Code, f.String())
	} else if buf, err = xmlrpc.AppendResponse(buf, v); err != nil {
		h.s.log.Error("cannot encode XML-RPC response", "method", req.Method, "err", err)
		http.Error(w, "500 Internal Server Error", http.StatusInternalServerError)
		return
	}
	hint.Store(int64(len(buf)))
	*bp = buf
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(buf)))
	_, _ = w.Write(buf)
}
