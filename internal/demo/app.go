// Package demo holds the built-in demo: a small web app and a worker that
// drover itself runs (hidden commands), and the config that ties them.
package demo

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/drover-sh/drover/internal/httpwire"
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
	srv := &httpwire.Server{
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Second, // idle keep-alive conns end while draining
	}
	srv.Handler = func(w *httpwire.ResponseWriter, r *httpwire.Request) {
		w.Header = append(w.Header, httpwire.Field{Name: "Content-Type", Value: "text/plain; charset=utf-8"})
		if r.Path() == "/healthz" {
			_ = w.Reply(200, []byte("ok\n"))
			return
		}
		select {
		case <-drain:
			w.SetClose()
		default:
		}
		if delay > 0 {
			// Simulates a slow request; the timer ends with the server.
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
			}
		}
		_ = w.Reply(200, fmt.Appendf(nil, "hello from drover demo: pid %d%s up %s\n",
			os.Getpid(), gen, time.Since(started).Round(time.Second)))
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
	// counted: waiting for none before that could drop it.
	<-errc
	select {
	case <-srv.Idle():
	case <-time.After(30 * time.Second):
	}
	return srv.Close()
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
