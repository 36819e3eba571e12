// Package demo holds the built-in demo: a small web app and a worker that
// drover itself runs (hidden commands), and the config that ties them.
package demo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Listener returns the socket to serve on: the first inherited socket when
// LISTEN_FDS/LISTEN_PID name this process (drover-owned sockets), else a
// fresh listener on addr.
func Listener(addr string) (net.Listener, error) {
	if pid, _ := strconv.Atoi(os.Getenv("LISTEN_PID")); pid == os.Getpid() {
		if n, _ := strconv.Atoi(os.Getenv("LISTEN_FDS")); n > 0 {
			f := os.NewFile(3, "listen")
			defer f.Close()
			return net.FileListener(f)
		}
	}
	return net.Listen("tcp", addr)
}

// ServeApp runs the demo web app until SIGTERM/SIGINT, then drains
// in-flight requests (graceful stop) and returns.
func ServeApp(addr string, delay time.Duration) error {
	ln, err := Listener(addr)
	if err != nil {
		return err
	}
	started := time.Now()
	gen := ""
	if g := os.Getenv("DROVER_GENERATION"); g != "" {
		gen = " generation " + g
	}
	// drain is closed on SIGTERM: from then on every response says
	// "Connection: close", so keep-alive clients move to the next
	// generation after their current request instead of having an idle
	// connection closed under a request they are sending.
	drain := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-drain:
			w.Header().Set("Connection", "close")
		default:
		}
		if delay > 0 {
			// Simulates a slow request; the timer ends with the request.
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
			}
		}
		fmt.Fprintf(w, "hello from drover demo: pid %d%s up %s\n",
			os.Getpid(), gen, time.Since(started).Round(time.Second))
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	var conns ConnCount
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Second, // idle keep-alive conns end while draining
		ConnState:         conns.Track,
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Printf("demo app: pid %d serving on %s\n", os.Getpid(), ln.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Printf("demo app: pid %d draining\n", os.Getpid())
	close(drain)
	ln.Close() // stop accepting; the socket itself lives on in drover and the next generation
	// Once Serve returned, a connection accepted just before the close is
	// counted in conns: waiting for zero before that could drop it.
	<-errc
	select {
	case <-conns.Zero():
	case <-time.After(30 * time.Second):
	}
	if err := srv.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ConnCount counts a server's open connections and tells when none is
// left: the last step of a graceful stop that does not race keep-alive
// clients (http.Server.Shutdown closes idle connections at once, under a
// request the client may be sending). Set Track as http.Server.ConnState;
// the zero value is ready to use.
type ConnCount struct {
	mu    sync.Mutex
	n     int
	empty chan struct{} // closed when n drops to 0; replaced when it rises
}

// Track is the http.Server.ConnState hook.
func (c *ConnCount) Track(_ net.Conn, st http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.empty == nil {
		c.empty = make(chan struct{})
	}
	switch st {
	case http.StateNew:
		if c.n == 0 {
			c.empty = make(chan struct{})
		}
		c.n++
	case http.StateClosed, http.StateHijacked:
		if c.n--; c.n == 0 {
			close(c.empty)
		}
	}
}

// Zero returns a channel closed once no connection is open.
func (c *ConnCount) Zero() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		done := make(chan struct{})
		close(done)
		return done
	}
	return c.empty
}

// RunWorker prints a line every interval until SIGTERM/SIGINT, standing
// in for a queue worker (sidekiq, celery).
func RunWorker(interval time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	t := time.NewTicker(interval)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			fmt.Println("worker: finishing current job and exiting")
			return nil
		case <-t.C:
			fmt.Printf("worker: processed job %d\n", n)
		}
	}
}
