package rpc

import (
	"crypto/tls"

	"github.com/drover-sh/drover/internal/supervisor"

	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/drover-sh/drover/internal/httpwire"
	"github.com/drover-sh/drover/internal/rpc/xmlrpc"
)

// Client calls a supervisord-compatible server (drover or supervisord)
// as supervisorctl does: XML-RPC POSTs to /RPC2 over a kept-alive
// connection (see client_conn.go), and GET streams for /logtail and
// /mainlogtail. It is safe for concurrent use.
type Client struct {
	base string // scheme://host[:port], for messages
	host string // the Host field
	auth ClientAuth
	dial func(ctx context.Context) (net.Conn, error)

	mu   sync.Mutex
	idle *callConn // the kept-alive connection for calls
}

// ClientAuth is the HTTP Basic auth a Client sends, and when.
type ClientAuth struct {
	Username, Password string
	// Calls and Streams say whether XML-RPC calls and log streams carry
	// it (supervisorctl: calls when both a user name and a password were
	// configured, streams when the password is not empty).
	Calls, Streams bool
	// TLS configures https:// (the CA that verifies the server, a client
	// certificate for mutual TLS); nil uses the system's roots.
	TLS *tls.Config
}

// HTTPError is a non-200 answer (401 when credentials are missing or
// wrong, 400 for a malformed call).
type HTTPError struct {
	StatusCode int
	Status     string
}

func (e *HTTPError) Error() string { return "server answered " + e.Status }

// NewClientAuth returns a client for "unix:///abs/path" or
// "http://host[:port]" (a path in an http URL is ignored, as
// supervisorctl ignores it). Nothing is dialled until the first call.
func NewClientAuth(serverURL string, auth ClientAuth) (*Client, error) {
	c := &Client{auth: auth}
	switch {
	case strings.HasPrefix(serverURL, "unix://"):
		path := strings.TrimPrefix(serverURL, "unix://")
		if path == "" {
			return nil, fmt.Errorf("no socket path in server URL %q", serverURL)
		}
		c.dial = dialer("unix", path)
		c.base, c.host = "http://localhost", "localhost"
	case strings.HasPrefix(serverURL, "http://"), strings.HasPrefix(serverURL, "https://"):
		u, err := url.Parse(serverURL)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("bad server URL %q", serverURL)
		}
		c.base, c.host = u.Scheme+"://"+u.Host, u.Host
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		c.dial = dialer("tcp", net.JoinHostPort(u.Hostname(), port))
		if u.Scheme == "https" {
			tc := auth.TLS
			if tc == nil {
				tc = &tls.Config{}
			}
			tc = tc.Clone()
			if tc.ServerName == "" {
				tc.ServerName = u.Hostname()
			}
			c.dial = tlsDialer(c.dial, tc)
		}
	default:
		return nil, fmt.Errorf("unknown protocol for server URL %q (want unix://, http:// or https://)", serverURL)
	}
	return c, nil
}

// tlsDialer wraps dial with a TLS handshake bounded by ctx.
func tlsDialer(dial func(context.Context) (net.Conn, error), tc *tls.Config) func(context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		raw, err := dial(ctx)
		if err != nil {
			return nil, err
		}
		conn := tls.Client(raw, tc)
		if err := conn.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, err
		}
		return conn, nil
	}
}

// maxAnswer bounds the buffer reserved up front for an answer from its
// Content-Length (a longer answer still reads, growing the buffer).
const maxAnswer = 64 << 20

// Call invokes method with args (int, bool, string, float64, []byte,
// time.Time, []any, map[string]any...). A fault is returned as a *Fault
// error with the server's code and detail; an HTTP failure as
// *HTTPError; a transport failure as the net error (errors.Is finds
// syscall.ENOENT or ECONNREFUSED in it).
func (c *Client) Call(ctx context.Context, method string, args ...any) (any, error) {
	body, err := xmlrpc.AppendRequest(nil, method, args...)
	if err != nil {
		return nil, err
	}
	status, text, doc, err := c.post(ctx, body)
	if err != nil {
		return nil, err
	}
	if status != 200 {
		return nil, &HTTPError{StatusCode: status, Status: text}
	}
	v, err := xmlrpc.ParseResponse(doc)
	var xf *xmlrpc.Fault
	if errors.As(err, &xf) {
		return nil, parseFault(xf.Code, xf.String)
	}
	return v, err
}

// parseFault splits "NAME: detail" back into a Fault.
func parseFault(code int, s string) *supervisor.Fault {
	c := supervisor.Code(code)
	name := c.String()
	if s == name {
		return &supervisor.Fault{Code: c}
	}
	if d, ok := strings.CutPrefix(s, name+": "); ok {
		return &supervisor.Fault{Code: c, Detail: d}
	}
	return &supervisor.Fault{Code: c, Detail: s}
}

// Stream GETs path (/logtail/… or /mainlogtail) on a connection of its
// own and copies the body to w until the server ends it or ctx is done.
// A non-200 answer is an *HTTPError. Characters a URL path cannot carry
// literally (a space, '?', '#', '%' in a process name) are
// percent-encoded.
func (c *Client) Stream(ctx context.Context, path string, w io.Writer) error {
	conn, err := c.dial(ctx)
	if err != nil {
		return &url.Error{Op: "Get", URL: c.base + path, Err: err}
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	h := httpwire.Header{{Name: "User-Agent", Value: "drover"}}
	if c.auth.Streams {
		h = append(h, httpwire.Field{Name: "Authorization", Value: httpwire.BasicAuth(c.auth.Username, c.auth.Password)})
	}
	br := bufio.NewReaderSize(conn, 32<<10)
	resp, err := func() (*httpwire.Response, error) {
		if err := httpwire.WriteRequest(bufio.NewWriter(conn), "GET", (&url.URL{Path: path}).EscapedPath(), c.host, h, nil); err != nil {
			return nil, err
		}
		return httpwire.ReadResponse(br, "GET")
	}()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &url.Error{Op: "Get", URL: c.base + path, Err: err}
	}
	if resp.Status != 200 {
		return &HTTPError{StatusCode: resp.Status, Status: resp.StatusLine()}
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
	}
}

// Close releases the idle connection.
func (c *Client) Close() {
	c.swapIdle(nil).close()
}
