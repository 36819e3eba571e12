//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The load of the zero-downtime suite, as zero-downtime.md's "How to test
// it" asks: loopback clients of two kinds (a new connection per request,
// and keep-alive) alternating a fast path and /slow (~300 ms in flight),
// every failure classified, every answer's generation tag counted.

// Failure classes.
const (
	failRefused = "refused"
	failReset   = "reset"
	failEmpty   = "empty reply"
	failTimeout = "timeout"
	fail5xx     = "5xx"
	failOther   = "other"
)

// clientsPerKind runs this many goroutines per client kind, so requests
// are in flight at every moment of a hand-off.
const clientsPerKind = 3

// requestTimeout counts a request as failed (timeout) after this long.
const requestTimeout = 15 * time.Second

// load is a running set of clients against one URL base.
type load struct {
	t      *testing.T
	base   string
	tag    func(body string) string // the generation tag of an answer, "" if none
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	requests int
	failures map[string][]string // class → examples
	seen     map[string]int      // tag → answers
	// retried counts keep-alive requests Go's transport re-sent on a fresh
	// connection because the reused one closed before any answer byte
	// (RFC 9112 §9.3.1): a client without that retry would have failed.
	retried int
	resent  []string      // the first few re-sent requests, for the failure message
	changed chan struct{} // closed and replaced on every answer
	// slowest is the longest a fast-path ("/") request took to be
	// answered, and slowestAt when it ended: a stall (clients held on a
	// socket nobody accepts on) fails nothing but shows here.
	slowest   time.Duration
	slowestAt time.Time
	// fast holds every fast-path answer's latency with the time it ended,
	// for the stall bound (window).
	fast []sample
}

// sample is one fast-path answer: when it ended and how long it took.
type sample struct {
	at   time.Time
	took time.Duration
}

// startLoad starts the clients; they run until stop or limit.
func startLoad(t *testing.T, base string, tag func(string) string, limit time.Duration) *load {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	l := &load{t: t, base: base, tag: tag, cancel: cancel, failures: map[string][]string{}, seen: map[string]int{},
		changed: make(chan struct{})}
	for _, keepAlive := range []bool{false, true} {
		tr := &http.Transport{DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: clientsPerKind}
		c := &http.Client{Transport: tr, Timeout: requestTimeout}
		for i := range clientsPerKind {
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				defer tr.CloseIdleConnections()
				for n := i; ctx.Err() == nil; n++ {
					path := "/"
					if n%2 == 1 {
						path = "/slow"
					}
					if !l.one(ctx, c, path) {
						// Pacing, not synchronisation: a client that
						// failed does not hammer a closed port.
						pause := time.NewTimer(failPause)
						select {
						case <-pause.C:
						case <-ctx.Done():
							pause.Stop()
						}
					}
				}
			}()
		}
	}
	t.Cleanup(l.stop)
	return l
}

// failPause is how long a client waits after a failed request.
const failPause = 20 * time.Millisecond

// one makes one request and records its outcome; false if it failed.
func (l *load) one(ctx context.Context, c *http.Client, path string) bool {
	attempts := 0
	var first httptrace.GotConnInfo
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		if attempts == 0 {
			first = info
		}
		attempts++
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", l.base+path, nil)
	if err != nil {
		l.t.Error(err)
		return false
	}
	t0 := time.Now()
	resp, err := c.Do(req)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode >= 500 {
			err = fmt.Errorf("%w: status %d", errStatus5xx, resp.StatusCode)
		} else if err == nil && resp.StatusCode != 200 {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if ctx.Err() != nil {
		return true // stopping: the last requests are not counted
	}
	l.requests++
	if attempts > 1 {
		l.retried++
		if len(l.resent) < 5 {
			// Which connection failed and how long it had been idle tells
			// whose close raced with the request.
			l.resent = append(l.resent, fmt.Sprintf("%s %s: first sent on %v (idle %v in the client's pool)",
				time.Now().Format("15:04:05.000"), path, first.Conn.LocalAddr(), first.IdleTime))
		}
	}
	if err != nil {
		class := classify(err)
		if len(l.failures[class]) < 5 {
			l.failures[class] = append(l.failures[class], fmt.Sprintf("%s %s: %v", time.Now().Format("15:04:05.000"), path, err))
		} else {
			l.failures[class] = append(l.failures[class], "")
		}
		return false
	}
	if took := time.Since(t0); path == "/" {
		if took > l.slowest {
			l.slowest, l.slowestAt = took, time.Now()
		}
		l.fast = append(l.fast, sample{time.Now(), took})
	}
	l.seen[l.tag(string(body))]++
	close(l.changed)
	l.changed = make(chan struct{})
	return true
}

var errStatus5xx = errors.New("server error")

// classify sorts a failed request into zero-downtime.md's classes.
func classify(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, errStatus5xx):
		return fail5xx
	case errors.Is(err, syscall.ECONNREFUSED):
		return failRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return failReset
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		// Go's transport, when a keep-alive connection it reused closed
		// before the answer and the request could not be re-sent.
		strings.Contains(err.Error(), "server closed idle connection"):
		return failEmpty
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return failTimeout
	}
	return failOther
}

// count is how many answers tag has had so far.
func (l *load) count(tag string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seen[tag]
}

// waitNewTag waits until a tag not in known has come n times, and returns it.
func (l *load) waitNewTag(known []string, n int, within time.Duration) (string, error) {
	return l.waitFor(func(t string) bool { return !slices.Contains(known, t) }, n, within)
}

// waitFor waits until some tag that match accepts has come n times.
func (l *load) waitFor(match func(string) bool, n int, within time.Duration) (string, error) {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		for tag, c := range l.seen {
			if c >= n && match(tag) {
				l.mu.Unlock()
				return tag, nil
			}
		}
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			l.mu.Lock()
			defer l.mu.Unlock()
			return "", fmt.Errorf("no %d answers from the awaited generation within %v; answers so far %v", n, within, l.seen)
		}
	}
}

// settle waits until the server answered n times (a daemon may say RUNNING
// before its server listens), then zeroes the counts: what the load saw
// before is not the reloads'.
func (l *load) settle(n int, within time.Duration) (string, error) {
	tag, err := l.waitFor(func(string) bool { return true }, n, within)
	if err != nil {
		return "", err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests, l.retried, l.resent, l.slowest, l.fast = 0, 0, nil, 0, nil
	l.failures = map[string][]string{}
	return tag, nil
}

// window sums up the fast-path answers that ended in [from, to): their
// count, 99th percentile and maximum.
func (l *load) window(from, to time.Time) (n int, p99, worst time.Duration) {
	l.mu.Lock()
	var took []time.Duration
	for _, s := range l.fast {
		if !s.at.Before(from) && s.at.Before(to) {
			took = append(took, s.took)
		}
	}
	l.mu.Unlock()
	if len(took) == 0 {
		return 0, 0, 0
	}
	slices.Sort(took)
	return len(took), took[(len(took)*99)/100], took[len(took)-1]
}

// waitFast waits until n fast-path answers ended after since: a steady
// sample to measure a p99 on.
func (l *load) waitFast(since time.Time, n int, within time.Duration) error {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		got := 0
		for i := len(l.fast) - 1; i >= 0 && l.fast[i].at.After(since); i-- {
			got++
		}
		changed := l.changed
		l.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-changed:
		case <-deadline.C:
			return fmt.Errorf("%d fast-path answers since %s within %v, want %d", got, since.Format("15:04:05.000"), within, n)
		}
	}
}

// stallBound is the zero-downtime bound on the slowest fast-path answer
// during an operation: 4× the steady p99 before it, plus 100 ms.
func stallBound(steadyP99 time.Duration) time.Duration { return 4*steadyP99 + 100*time.Millisecond }

// checkStall fails t when a fast-path answer that ended in [opFrom, opTo]
// (plus the request timeout after, for answers held during it) took longer
// than stallBound of the steady p99 measured in [steadyFrom, opFrom); it
// returns a one-line summary for the report.
func (l *load) checkStall(t *testing.T, what string, steadyFrom, opFrom, opTo time.Time) string {
	t.Helper()
	summary, err := l.stall(what, steadyFrom, opFrom, opTo)
	if err != nil {
		t.Error(err)
	}
	return summary
}

// stall is checkStall's measure: the summary, and an error when the bound
// does not hold (or there was no steady p99 to bound by).
func (l *load) stall(what string, steadyFrom, opFrom, opTo time.Time) (string, error) {
	n, p99, _ := l.window(steadyFrom, opFrom)
	m, _, worst := l.window(opFrom, opTo.Add(time.Second))
	bound := stallBound(p99)
	summary := fmt.Sprintf("steady p99 %v (%d answers), max during %s %v (%d answers, bound %v)",
		p99.Round(time.Millisecond), n, what, worst.Round(time.Millisecond), m, bound.Round(time.Millisecond))
	switch {
	case n < 20:
		return summary, fmt.Errorf("%s: only %d fast-path answers before the operation: no steady p99", what, n)
	case worst > bound:
		return summary, fmt.Errorf("%s: slowest fast-path answer during the operation %v > bound %v (4 × steady p99 %v + 100 ms)",
			what, worst.Round(time.Millisecond), bound.Round(time.Millisecond), p99.Round(time.Millisecond))
	}
	return summary, nil
}

// stop ends the clients and waits for them.
func (l *load) stop() {
	l.cancel()
	l.wg.Wait()
}

// loadReport is what a load saw.
type loadReport struct {
	Requests int
	Failed   int
	ByClass  map[string]int
	Examples []string
	Seen     map[string]int
	Retried  int
	Resent   []string // examples of Retried
	// Slowest is the longest wait for an answer on the fast path, which
	// ended at SlowestAt.
	Slowest   time.Duration
	SlowestAt time.Time
}

// report stops the load and sums it up.
func (l *load) report() loadReport {
	l.stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	r := loadReport{Requests: l.requests, ByClass: map[string]int{}, Seen: maps.Clone(l.seen), Retried: l.retried,
		Resent: slices.Clone(l.resent), Slowest: l.slowest, SlowestAt: l.slowestAt}
	for class, ex := range l.failures {
		r.ByClass[class] = len(ex)
		r.Failed += len(ex)
		r.Examples = append(r.Examples, class+": "+ex[0])
	}
	sort.Strings(r.Examples)
	return r
}

func (r loadReport) String() string {
	var classes []string
	for c, n := range r.ByClass {
		classes = append(classes, fmt.Sprintf("%s %d", c, n))
	}
	sort.Strings(classes)
	s := fmt.Sprintf("%d requests, %d failed", r.Requests, r.Failed)
	if len(classes) > 0 {
		s += " (" + strings.Join(classes, ", ") + ")"
	}
	return s + fmt.Sprintf(", %d re-sent by the client, slowest fast-path answer %v", r.Retried, r.Slowest.Round(time.Millisecond))
}
