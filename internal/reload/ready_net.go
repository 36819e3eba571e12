package reload

import (
	"github.com/drover-sh/drover/internal/config"

	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"time"

	"github.com/drover-sh/drover/internal/httpwire"
)

// Retry pacing of the network probes: the first retry after
// FirstBackoff, doubling up to MaxBackoff; each try gets at most TryTimeout.
const (
	FirstBackoff = 50 * time.Millisecond
	MaxBackoff   = 1 * time.Second
	TryTimeout   = 2 * time.Second
)

// ErrNoProbeSocket is wrapped when an http://{probe} probe runs for a
// generation without a probe socket (Gen.ProbeAddr empty).
var ErrNoProbeSocket = errors.New("generation has no probe socket")

// HTTPProbe is ready when a GET of URL answers 2xx. Every try opens a new
// connection (so a keep-alive connection to one process cannot hide
// another), redirects are not followed, and tries are spaced by a doubling
// backoff until ctx ends. A URL whose host is "{probe}" is sent to the
// generation's ProbeAddr.
type HTTPProbe struct {
	URL *url.URL
}

// Wait implements Probe.
func (p HTTPProbe) Wait(ctx context.Context, g Gen) error {
	u := *p.URL
	if u.Host == config.ReadyProbeHost {
		if g.ProbeAddr == "" {
			return fmt.Errorf("%w: %w", ErrNotReady, ErrNoProbeSocket)
		}
		u.Host = g.ProbeAddr
	}
	target := u.String()
	err := retry(ctx, g, func(c context.Context) error {
		if err := httpGet(c, u.Host, u.RequestURI()); err != nil {
			return fmt.Errorf("GET %s: %w", target, err)
		}
		return nil
	})
	if err != nil && p.URL.Host == config.ReadyProbeHost && errors.Is(err, ErrNotReady) {
		err = fmt.Errorf("%w (the probe socket %s is the generation's last inherited fd, named %q in LISTEN_FDNAMES and DROVER_PROBE_ADDR: the server must serve it)",
			err, g.ProbeAddr, config.ProbeName)
	}
	return err
}

// httpGet sends one GET on a new connection to addr and wants a 2xx
// answer; the answer's body is read (up to 64 KiB) and dropped.
func httpGet(ctx context.Context, addr, target string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	h := httpwire.Header{{Name: "User-Agent", Value: "drover-ready-probe"}, {Name: "Connection", Value: "close"}}
	if err := httpwire.WriteRequest(bufio.NewWriter(conn), "GET", target, addr, h, nil); err != nil {
		return err
	}
	resp, err := httpwire.ReadResponse(bufio.NewReader(conn), "GET")
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.Status < 200 || resp.Status > 299 {
		return errors.New(resp.StatusLine())
	}
	return nil
}

// TCPProbe is ready when a connection to Addr succeeds (then it is closed
// at once). Only meaningful for a port the server binds itself.
type TCPProbe struct {
	Addr string
}

// Wait implements Probe.
func (p TCPProbe) Wait(ctx context.Context, g Gen) error {
	var d net.Dialer
	return retry(ctx, g, func(c context.Context) error {
		conn, err := d.DialContext(c, "tcp", p.Addr)
		if err != nil {
			return err
		}
		return conn.Close()
	})
}

// retry runs try until it succeeds, ctx ends or g exits; tries are spaced
// by a doubling backoff and each gets at most TryTimeout.
func retry(ctx context.Context, g Gen, try func(context.Context) error) error {
	c, exited, stop := watchExit(ctx, g)
	defer stop()
	var last error
	backoff := FirstBackoff
	for {
		tc, cancel := context.WithTimeout(c, TryTimeout)
		err := try(tc)
		cancel()
		if err == nil && !exited() {
			return nil
		}
		if err != nil {
			last = err
		}
		t := time.NewTimer(backoff)
		select {
		case <-c.Done():
			t.Stop()
			return notReady(ctx, g, last)
		case <-t.C:
		}
		backoff = min(2*backoff, MaxBackoff)
	}
}
