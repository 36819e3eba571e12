package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"github.com/drover-sh/drover/internal/rpc"
	"github.com/drover-sh/drover/internal/rpc/xmlrpc"
)

// ctlClient talks to one supervisord-compatible server (drover or
// supervisord) the way supervisorctl does: XML-RPC POSTs to /RPC2 over
// one kept-alive connection, and GET streams for /logtail. It decodes
// answers with the fast decoder (decodeAnswer); faults come back as
// *rpc.Fault and non-200 answers as *rpc.HTTPError, as with rpc.Client.
type ctlClient struct {
	serverURL string
	base      string // scheme://host[:port] used in request URLs
	user      string
	pass      string
	rpcAuth   bool // supervisorctl sends Basic auth on RPC only with both set
	hc        *http.Client
}

// newCtlClient returns a client for "unix:///abs/path" or
// "http://host[:port]" (any path in an http URL is ignored, as
// supervisorctl ignores it). Nothing is dialled until the first call.
func newCtlClient(serverURL, user, pass string, rpcAuth bool) (*ctlClient, error) {
	c := &ctlClient{serverURL: serverURL, user: user, pass: pass, rpcAuth: rpcAuth}
	tr := &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true, Proxy: nil}
	switch {
	case strings.HasPrefix(serverURL, "unix://"):
		path := strings.TrimPrefix(serverURL, "unix://")
		if path == "" {
			return nil, fmt.Errorf("no socket path in server URL %q", serverURL)
		}
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}
		c.base = "http://localhost"
	case strings.HasPrefix(serverURL, "http://"):
		u, err := url.Parse(serverURL)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("bad server URL %q", serverURL)
		}
		c.base = "http://" + u.Host
	default:
		return nil, fmt.Errorf("unknown protocol for server URL %q (want unix:// or http://)", serverURL)
	}
	c.hc = &http.Client{Transport: tr}
	return c, nil
}

// call invokes an XML-RPC method.
func (c *ctlClient) call(ctx context.Context, method string, args ...any) (any, error) {
	var body bytes.Buffer
	if err := xmlrpc.EncodeRequest(&body, method, args...); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/RPC2", &body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("Accept", "text/xml")
	if c.rpcAuth {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil, &rpc.HTTPError{StatusCode: resp.StatusCode, Status: resp.Status}
	}
	var buf bytes.Buffer
	if resp.ContentLength > 0 {
		buf.Grow(int(min(resp.ContentLength, 64<<20)))
	}
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return nil, err
	}
	v, err := decodeAnswer(buf.Bytes())
	var xf *xmlrpc.Fault
	if errors.As(err, &xf) {
		return nil, faultFrom(xf.Code, xf.String)
	}
	return v, err
}

// faultFrom splits a faultString "NAME: detail" back into an *rpc.Fault.
func faultFrom(code int, s string) *rpc.Fault {
	name := rpc.FaultName(code)
	if s == name {
		return &rpc.Fault{Code: code}
	}
	if d, ok := strings.CutPrefix(s, name+": "); ok {
		return &rpc.Fault{Code: code, Detail: d}
	}
	return &rpc.Fault{Code: code, Detail: s}
}

// faultString is the faultString the server sent for f.
func faultString(f *rpc.Fault) string { return f.String() }

// stream GETs path (/logtail/… or /mainlogtail) and copies the body to
// w until the server ends it or ctx is done. A non-200 answer is an
// *rpc.HTTPError. Basic auth is sent when a password is set, as
// supervisorctl's stream client does.
func (c *ctlClient) stream(ctx context.Context, path string, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+escapePath(path), nil)
	if err != nil {
		return err
	}
	if c.pass != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &rpc.HTTPError{StatusCode: resp.StatusCode, Status: resp.Status}
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

// escapePath percent-encodes what a URL path cannot carry literally
// (spaces, '?', '#', '%') in a process name.
func escapePath(p string) string {
	return (&url.URL{Path: p}).EscapedPath()
}

// close releases idle connections.
func (c *ctlClient) close() { c.hc.CloseIdleConnections() }

// connProblem classifies a transport error the way supervisorctl's
// up-check does: a missing socket file or a refused connection.
func connProblem(err error) (noFile, refused bool) {
	return errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ECONNREFUSED)
}
