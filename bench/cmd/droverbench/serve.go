package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/drover-sh/drover/internal/conncount"
)

// Note kinds the "serve" child sends once it accepts connections: how it
// got its listening sockets.
const (
	noteInherit = "inherit" // LISTEN_FDS sockets from the supervisor
	noteBind    = "bind"    // it bound ADDR itself
)

// Bounds of the app's graceful stop: connections get this long to finish
// their current request before the server is shut down regardless.
const (
	drainTimeout    = 10 * time.Second
	shutdownTimeout = 10 * time.Second
)

// serveMain is the "serve SOCK ADDR" child mode: the web app of the reload
// measurement. It serves HTTP on the sockets inherited through LISTEN_FDS
// (all of them, fd 3 on: drover's probe socket is the last) when
// LISTEN_PID is its own pid, else on ADDR, which it binds itself (a
// loopback host:port, for supervisord, which owns no sockets). Every
// request gets "gen=G\n", G being DROVER_GENERATION or else the pid. Once
// it accepts, it sends "inherit" or "bind" to SOCK. SIGTERM stops it
// gracefully (see drainAndStop); it exits on its own after childLifetime.
func serveMain(sock, addr string) int {
	lns, kind, err := appListeners(addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "droverbench serve:", err)
		return 1
	}
	gen := os.Getenv("DROVER_GENERATION")
	if gen == "" {
		gen = strconv.Itoa(os.Getpid())
	}
	body := []byte("gen=" + gen + "\n")
	a := &app{drain: make(chan struct{})}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-a.drain:
				// Keep-alive clients move on after this answer rather than
				// having an idle connection closed under their next request.
				w.Header().Set("Connection", "close")
			default:
			}
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write(body)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       5 * time.Second,
		ConnState:         a.conns.Track,
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	errc := make(chan error, len(lns))
	for _, ln := range lns {
		go func() { errc <- srv.Serve(ln) }()
	}
	// The sockets listen already: connections queue until Serve accepts.
	if err := sendNotify(sock, kind); err != nil {
		fmt.Fprintln(os.Stderr, "droverbench serve:", err)
	}
	fmt.Printf("droverbench serve: pid %d gen %s serving (%s) on %d socket(s)\n", os.Getpid(), gen, kind, len(lns))
	life := time.NewTimer(childLifetime)
	defer life.Stop()
	select {
	case err := <-errc:
		fmt.Fprintln(os.Stderr, "droverbench serve:", err)
		return 1
	case <-life.C:
	case <-ctx.Done():
	}
	if err := a.drainAndStop(srv, lns, errc); err != nil {
		fmt.Fprintln(os.Stderr, "droverbench serve:", err)
		return 1
	}
	return 0
}

// appListeners returns the inherited sockets when LISTEN_PID names this
// process, else a new listener on addr, which must be a loopback address.
// The LISTEN_* variables are removed either way.
func appListeners(addr string) ([]net.Listener, string, error) {
	pid, _ := strconv.Atoi(os.Getenv("LISTEN_PID"))
	n, _ := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	for _, k := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		_ = os.Unsetenv(k)
	}
	if pid == os.Getpid() && n > 0 {
		var lns []net.Listener
		for fd := 3; fd < 3+n; fd++ {
			f := os.NewFile(uintptr(fd), "listen-fd-"+strconv.Itoa(fd))
			ln, err := net.FileListener(f) // dups the fd
			_ = f.Close()
			if err != nil {
				for _, l := range lns {
					_ = l.Close()
				}
				return nil, "", fmt.Errorf("inherited fd %d: %w", fd, err)
			}
			lns = append(lns, ln)
		}
		return lns, noteInherit, nil
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().IsLoopback() {
		return nil, "", fmt.Errorf("no LISTEN_FDS for this pid, and %q is not a loopback IP:PORT to bind", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("bind: %w", err)
	}
	return []net.Listener{ln}, noteBind, nil
}

// app tracks the server's connections for the graceful stop.
type app struct {
	drain chan struct{} // closed on SIGTERM: answers say Connection: close
	conns conncount.Count
}

// drainAndStop is the graceful stop: stop accepting (closing this
// process's copy of an inherited socket leaves it listening in the
// supervisor and the next generation; a socket of its own drops its
// queue), wait until every Serve loop has returned (served, one error
// each), let every open connection finish with a "Connection: close"
// answer, then http.Server.Shutdown. Each wait is bounded by drainTimeout
// or shutdownTimeout.
//
// The order matters: Shutdown drops, unanswered, a request it reads on a
// connection accepted before it started (net/http's conn.serve returns
// once shuttingDown). Serve hands a connection to the ConnState hook
// before its next Accept, so once the loops have returned every accepted
// connection is counted, and the drain waits for it to be answered. (A
// first version called Shutdown while a Serve loop was still between
// Accept and the hook: one request in ~30 hand-offs got an empty reply.)
func (a *app) drainAndStop(srv *http.Server, lns []net.Listener, served <-chan error) error {
	close(a.drain)
	for _, ln := range lns {
		_ = ln.Close()
	}
	// Printed once draining, so a reader of this line knows every answer
	// from now on says Connection: close.
	fmt.Printf("droverbench serve: pid %d draining\n", os.Getpid())
	t := time.NewTimer(drainTimeout)
	defer t.Stop()
	for range lns {
		select {
		case <-served:
		case <-t.C:
			return errors.New("a Serve loop did not return after its listener closed")
		}
	}
	select {
	case <-a.conns.Zero():
	case <-t.C:
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	// The listeners are closed already: Shutdown's own close of them fails
	// harmlessly with net.ErrClosed.
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
