package rpc

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/drover-sh/drover/internal/httpwire"
)

// Calls go over one kept-alive connection of the Client's own, written
// and read in the calling goroutine with httpwire's codecs: no
// goroutines per connection, no net/http in the binary.

// callConn is an idle connection for calls.
type callConn struct {
	c  net.Conn
	br *bufio.Reader
}

// post sends one XML-RPC request and returns the answer's status and
// body. Transport errors are *url.Error, as from net/http.
func (c *Client) post(ctx context.Context, body []byte) (int, string, string, error) {
	h := httpwire.Header{{Name: "Content-Type", Value: "text/xml"}, {Name: "Accept", Value: "text/xml"}, {Name: "User-Agent", Value: "drover"}}
	if c.auth.Calls {
		h = append(h, httpwire.Field{Name: "Authorization", Value: httpwire.BasicAuth(c.auth.Username, c.auth.Password)})
	}
	cc, err := c.conn(ctx)
	if err != nil {
		return 0, "", "", &url.Error{Op: "Post", URL: c.base + "/RPC2", Err: err}
	}
	status, text, answer, keep, err := exchange(ctx, cc, c.host, h, body)
	if err != nil {
		cc.close()
		return 0, "", "", &url.Error{Op: "Post", URL: c.base + "/RPC2", Err: err}
	}
	if keep {
		c.swapIdle(cc).close()
	} else {
		cc.close()
	}
	return status, text, answer, nil
}

// exchange writes req on cc and reads the whole answer; keep says whether
// the connection may carry another call.
func exchange(ctx context.Context, cc *callConn, host string, h httpwire.Header, body []byte) (status int, text, answer string, keep bool, err error) {
	// ctx's end interrupts the I/O; the connection is then dropped.
	if dl, ok := ctx.Deadline(); ok {
		_ = cc.c.SetDeadline(dl)
	} else {
		_ = cc.c.SetDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { _ = cc.c.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		if !stop() || ctx.Err() != nil {
			keep = false
			if err != nil && ctx.Err() != nil {
				err = ctx.Err()
			}
		}
	}()
	if err := httpwire.WriteRequest(bufio.NewWriterSize(cc.c, 4096), "POST", "/RPC2", host, h, body); err != nil {
		return 0, "", "", false, err
	}
	resp, err := httpwire.ReadResponse(cc.br, "POST")
	if err != nil {
		return 0, "", "", false, err
	}
	if resp.Status != 200 {
		_, err = io.Copy(io.Discard, resp.Body)
		return resp.Status, resp.StatusLine(), "", err == nil && !resp.Close, nil
	}
	// One string of the announced size, which the decoded strings share.
	var doc strings.Builder
	doc.Grow(int(min(max(resp.ContentLength, 0), maxAnswer)))
	if _, err := io.CopyBuffer(&doc, resp.Body, make([]byte, 16<<10)); err != nil {
		return 0, "", "", false, err
	}
	return resp.Status, resp.StatusLine(), doc.String(), !resp.Close, nil
}

// conn returns the idle connection if the server has not closed it, or
// a new one.
func (c *Client) conn(ctx context.Context) (*callConn, error) {
	if cc := c.swapIdle(nil); cc != nil {
		if !closedByPeer(cc) {
			return cc, nil
		}
		cc.close()
	}
	nc, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	return &callConn{c: nc, br: bufio.NewReaderSize(nc, 4096)}, nil
}

// swapIdle makes cc (nil: none) the idle connection and returns the
// previous one.
func (c *Client) swapIdle(cc *callConn) *callConn {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.idle
	c.idle = cc
	return old
}

func (cc *callConn) close() {
	if cc != nil {
		cc.c.Close()
	}
}

// closedByPeer reports whether an idle connection was closed by the
// server (it says so after its idle timeout): a peek at the socket finds
// the end of the stream, or unexpected bytes. Sending a call on such a
// connection would fail, and resending a call is not safe.
func closedByPeer(cc *callConn) bool {
	if cc.br.Buffered() > 0 {
		return true
	}
	sc, ok := cc.c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		closed = n > 0 || (err == nil && n == 0) || (err != nil && !errors.Is(err, syscall.EAGAIN))
		return true
	})
	return closed || err != nil
}

// dialer returns a function connecting to addr on network ("unix" or
// "tcp").
func dialer(network, addr string) func(ctx context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}
