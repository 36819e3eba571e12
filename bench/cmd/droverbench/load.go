package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// outcome classifies one request of the load client.
type outcome uint8

const (
	outOK      outcome = iota
	outRefused         // connect refused: nothing listens
	outReset           // ECONNRESET / EPIPE
	outEmpty           // connection closed before a whole answer (EOF)
	outTimeout         // no answer within the request timeout
	out5xx             // HTTP 5xx
	outOther           // any other error, status or body
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"ok", "refused", "reset", "empty_reply", "timeout", "5xx", "other"}

func (o outcome) String() string {
	if o < numOutcomes {
		return outcomeNames[o]
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// failPause is how long a client waits after a failed request before its
// next one, as a real client would before retrying. It keeps clients that
// meet a refused port from spinning on connect(2) and starving the
// restarting server of CPU, and makes the failure count read as outage
// time × clients ÷ failPause.
const failPause = 10 * time.Millisecond

// sample is one timed request. Times are since the load's base.
type sample struct {
	Start, Dur time.Duration
	Out        outcome
	Reused     bool  // sent on a keep-alive connection that had answered before
	Gen        int64 // the answer's "gen=" value (0 when failed)
}

// failure is one failed request, kept for the report (at most
// maxFailuresKept per worker).
type failure struct {
	sample
	KeepAlive bool      // a keep-alive worker (else one connection per request)
	Wall      time.Time // when it started, to match daemon log lines
	Err       string
}

const maxFailuresKept = 20

// loadGen is a bounded closed-loop HTTP/1.1 client: every worker sends one
// request, reads the whole answer, then sends the next. Keep-alive workers
// reuse their connection until the server says Connection: close or it
// fails; the others open a new connection per request. Failures are
// counted strictly: a request that fails on a reused connection is not
// retried (wrk does the same), so a server closing idle connections under
// its clients shows.
type loadGen struct {
	addr     string
	timeout  time.Duration
	base     time.Time
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	mu       sync.Mutex
	samples  [][]sample
	failures []failure
}

// startLoad starts keepAlive + newConn workers against addr (IP:PORT).
// Every request has its own deadline (timeout), so Stop returns within
// about timeout + failPause.
func startLoad(addr string, keepAlive, newConn int, timeout time.Duration) *loadGen {
	ctx, cancel := context.WithCancel(context.Background())
	l := &loadGen{addr: addr, timeout: timeout, base: time.Now(), cancel: cancel}
	for i := range keepAlive + newConn {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			s, f := l.worker(ctx, i < keepAlive)
			l.mu.Lock()
			l.samples = append(l.samples, s)
			l.failures = append(l.failures, f...)
			l.mu.Unlock()
		}()
	}
	return l
}

// Now is the time since the load's base, the clock of every sample.
func (l *loadGen) Now() time.Duration { return time.Since(l.base) }

// Stop ends the load after each worker's request in flight and returns
// every sample in start order, and the first failures of each worker (in
// start order too). It gives up after wait.
func (l *loadGen) Stop(wait time.Duration) ([]sample, []failure, error) {
	l.cancel()
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		return nil, nil, fmt.Errorf("load clients still running after %v", wait)
	}
	var all []sample
	for _, s := range l.samples {
		all = append(all, s...)
	}
	slices.SortFunc(all, func(a, b sample) int { return int(a.Start - b.Start) })
	slices.SortFunc(l.failures, func(a, b failure) int { return int(a.Start - b.Start) })
	return all, l.failures, nil
}

// worker runs requests until ctx ends and returns their samples and its
// first failures.
func (l *loadGen) worker(ctx context.Context, keepAlive bool) ([]sample, []failure) {
	out := make([]sample, 0, 1<<14)
	var fails []failure
	var c *clientConn
	defer func() {
		if c != nil {
			c.close()
		}
	}()
	pause := time.NewTimer(failPause)
	pause.Stop() // armed only after a failure (Go ≥ 1.23 timers: no stale tick)
	for ctx.Err() == nil {
		wall := time.Now()
		s := sample{Start: wall.Sub(l.base), Reused: c != nil}
		deadline := time.Now().Add(l.timeout)
		var err error
		if c == nil {
			c, err = dialClient(l.addr, deadline)
		}
		keep := false
		if err == nil {
			s.Gen, keep, err = c.get(deadline, !keepAlive)
		}
		s.Dur = l.Now() - s.Start
		s.Out = classifyErr(err)
		if err != nil || !keep {
			if c != nil {
				c.close()
			}
			c = nil
		}
		out = append(out, s)
		if s.Out != outOK && len(fails) < maxFailuresKept {
			fails = append(fails, failure{sample: s, KeepAlive: keepAlive, Wall: wall, Err: err.Error()})
		}
		if s.Out != outOK {
			pause.Reset(failPause)
			select {
			case <-pause.C:
			case <-ctx.Done():
			}
		}
	}
	return out, fails
}

// clientConn is one client connection with its read buffer.
type clientConn struct {
	conn net.Conn
	br   *bufio.Reader
}

func dialClient(addr string, deadline time.Time) (*clientConn, error) {
	d := net.Dialer{Deadline: deadline}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &clientConn{conn: conn, br: bufio.NewReaderSize(conn, 4096)}, nil
}

func (c *clientConn) close() { _ = c.conn.Close() }

var (
	reqKeepAlive = []byte("GET / HTTP/1.1\r\nHost: bench\r\nUser-Agent: droverbench\r\n\r\n")
	reqClose     = []byte("GET / HTTP/1.1\r\nHost: bench\r\nUser-Agent: droverbench\r\nConnection: close\r\n\r\n")
)

// errStatus and errBody are answers that are not "200 gen=N".
var (
	errStatus5xx = errors.New("HTTP 5xx")
	errStatus    = errors.New("unexpected HTTP status")
	errBody      = errors.New("unexpected body")
)

// get sends one GET and reads the whole answer. keep reports whether the
// connection may carry the next request.
func (c *clientConn) get(deadline time.Time, closeAfter bool) (gen int64, keep bool, err error) {
	if err := c.conn.SetDeadline(deadline); err != nil {
		return 0, false, err
	}
	req := reqKeepAlive
	if closeAfter {
		req = reqClose
	}
	if _, err := c.conn.Write(req); err != nil {
		return 0, false, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, false, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1024))
	_ = resp.Body.Close()
	if err != nil {
		return 0, false, err
	}
	switch {
	case resp.StatusCode >= 500:
		return 0, false, fmt.Errorf("%w: %s", errStatus5xx, resp.Status)
	case resp.StatusCode != http.StatusOK:
		return 0, false, fmt.Errorf("%w: %s", errStatus, resp.Status)
	}
	gen, err = parseGen(body)
	if err != nil {
		return 0, false, err
	}
	return gen, !resp.Close && !closeAfter, nil
}

// parseGen reads the app's "gen=N\n" answer.
func parseGen(body []byte) (int64, error) {
	s, ok := strings.CutPrefix(strings.TrimSpace(string(body)), "gen=")
	if !ok {
		return 0, fmt.Errorf("%w %q", errBody, body)
	}
	g, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w %q", errBody, body)
	}
	return g, nil
}

// classifyErr maps a request's error to its outcome.
func classifyErr(err error) outcome {
	var ne net.Error
	switch {
	case err == nil:
		return outOK
	case errors.Is(err, syscall.ECONNREFUSED):
		return outRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return outReset
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return outTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return outEmpty
	case errors.Is(err, errStatus5xx):
		return out5xx
	default:
		return outOther
	}
}
