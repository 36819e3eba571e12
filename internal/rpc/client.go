package rpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/drover-sh/drover/internal/rpc/xmlrpc"
)

// Client calls a supervisord-compatible XML-RPC server (drover or
// supervisord) over "unix:///abs/path.sock" or "http://host:port".
// It keeps connections alive between calls and is safe for concurrent use.
type Client struct {
	endpoint string
	user     string
	pass     string
	hc       *http.Client
}

// HTTPError is a non-200 answer (401 when credentials are missing or
// wrong, 400 for a malformed call).
type HTTPError struct {
	StatusCode int
	Status     string
}

func (e *HTTPError) Error() string { return "server answered " + e.Status }

// NewClient returns a client for serverURL. Credentials are sent only
// when username is not empty.
func NewClient(serverURL, username, password string) (*Client, error) {
	c := &Client{user: username, pass: password}
	tr := &http.Transport{MaxIdleConnsPerHost: 2}
	switch {
	case strings.HasPrefix(serverURL, "unix://"):
		path := strings.TrimPrefix(serverURL, "unix://")
		if path == "" {
			return nil, fmt.Errorf("rpc client: no socket path in %q", serverURL)
		}
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}
		c.endpoint = "http://localhost/RPC2"
	case strings.HasPrefix(serverURL, "http://"):
		c.endpoint = strings.TrimSuffix(serverURL, "/") + "/RPC2"
		tr.Proxy = nil
	default:
		return nil, fmt.Errorf("rpc client: unknown protocol for server URL %q (want unix:// or http://)", serverURL)
	}
	c.hc = &http.Client{Transport: tr}
	return c, nil
}

// Call invokes method with args (int, bool, string, float64, []byte,
// time.Time, []any, map[string]any...). A fault is returned as a *Fault
// error with the server's code and detail; an HTTP failure as *HTTPError.
func (c *Client) Call(ctx context.Context, method string, args ...any) (any, error) {
	var body bytes.Buffer
	if err := xmlrpc.EncodeRequest(&body, method, args...); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, &body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/xml")
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil, &HTTPError{StatusCode: resp.StatusCode, Status: resp.Status}
	}
	v, err := xmlrpc.DecodeResponse(resp.Body)
	var xf *xmlrpc.Fault
	if errors.As(err, &xf) {
		return nil, parseFault(xf.Code, xf.String)
	}
	return v, err
}

// parseFault splits "NAME: detail" back into a Fault.
func parseFault(code int, s string) *Fault {
	name := FaultName(code)
	if s == name {
		return &Fault{Code: code}
	}
	if d, ok := strings.CutPrefix(s, name+": "); ok {
		return &Fault{Code: code, Detail: d}
	}
	return &Fault{Code: code, Detail: s}
}

// Close releases idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }
