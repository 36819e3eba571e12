//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/drover-sh/drover/internal/conncount"
)

// The plain app of the zero-downtime suite: this test binary re-run as a Go
// HTTP server that takes its sockets from LISTEN_FDS (fd 3 on; under
// drover the last one is the generation's private probe socket, named
// "probe" in LISTEN_FDNAMES), or binds the address in its argv when none
// are passed (under supervisord). It answers "gen=<DROVER_GENERATION or
// pid>", "/slow" after 300 ms, and drains on SIGTERM as a well-behaved
// server does: it stops accepting, answers every further request on its
// open connections with "Connection: close", and exits once they are all
// closed. (http.Server.Shutdown alone closes idle keep-alive connections
// at once, racing with a client that is sending its next request on one.)
//
// A fault file named in $ZD_FAULT, if present when the app starts, is
// consumed (removed) and makes this one generation misbehave:
//   - "never-ready": every answer on the probe socket is 503;
//   - "crash-after-ready": the probe answers 200 once, then the app exits 3
//     without having served the public sockets (a server that reports
//     ready before its workers load the app, then fails to load it).
const slowDelay = 300 * time.Millisecond

func serveMain(args []string) int {
	fault := ""
	if path := os.Getenv("ZD_FAULT"); path != "" {
		// Rename first: only one generation consumes a fault.
		taken := path + "." + strconv.Itoa(os.Getpid())
		if os.Rename(path, taken) == nil {
			b, _ := os.ReadFile(taken)
			fault = strings.TrimSpace(string(b))
			os.Remove(taken)
		}
	}
	public, probe, err := serveListeners(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "zd-serve:", err)
		return 1
	}
	tag := os.Getenv("DROVER_GENERATION")
	if tag == "" {
		tag = "pid" + strconv.Itoa(os.Getpid())
	}
	drain := make(chan struct{})
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-drain:
			w.Header().Set("Connection", "close")
		default:
		}
		if r.URL.Path == "/slow" {
			t := time.NewTimer(slowDelay) // the request's own duration
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
			}
		}
		fmt.Fprintf(w, "gen=%s\n", tag)
	})
	crash := make(chan struct{})
	var once sync.Once
	probeH := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch fault {
		case "never-ready":
			http.Error(w, "not ready", http.StatusServiceUnavailable)
		case "crash-after-ready":
			fmt.Fprintln(w, "ready")
			once.Do(func() { close(crash) })
		default:
			fmt.Fprintln(w, "ready")
		}
	})
	var conns conncount.Count
	srv := &http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Second,
		ConnState: conns.Track}
	psrv := &http.Server{Handler: probeH, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	errs := make(chan error, 1)
	if probe != nil {
		go func() { errs <- psrv.Serve(probe) }()
	}
	// served gets each public serve loop's end: once they all returned,
	// every accepted connection is counted in conns.
	served := make(chan error, len(public))
	if fault != "crash-after-ready" {
		for _, l := range public {
			go func() { served <- srv.Serve(l) }()
		}
	}
	select {
	case <-crash:
		// Let the probe's answer reach drover before dying.
		psrv.Shutdown(context.Background())
		fmt.Fprintln(os.Stderr, "zd-serve: crashing after ready, as told")
		return 3
	case err := <-errs:
		fmt.Fprintln(os.Stderr, "zd-serve:", err)
		return 1
	case err := <-served:
		fmt.Fprintln(os.Stderr, "zd-serve:", err)
		return 1
	case <-ctx.Done():
	}
	close(drain)
	psrv.Close()
	for _, l := range public {
		l.Close() // this process's copy: the other generation keeps accepting
	}
	if fault != "crash-after-ready" {
		for range public {
			<-served
		}
	}
	// Idle connections end when their client sends (answered with
	// Connection: close) or after IdleTimeout.
	select {
	case <-conns.Zero():
		return 0
	case <-time.After(30 * time.Second):
		fmt.Fprintln(os.Stderr, "zd-serve: connections still open after 30 s")
		return 1
	}
}

// serveListeners returns the public sockets and the probe socket (nil
// when none): inherited ones when LISTEN_PID names this process, else
// one bound to args[0].
func serveListeners(args []string) (public []net.Listener, probe net.Listener, err error) {
	if pid, _ := strconv.Atoi(os.Getenv("LISTEN_PID")); pid == os.Getpid() {
		n, _ := strconv.Atoi(os.Getenv("LISTEN_FDS"))
		names := strings.Split(os.Getenv("LISTEN_FDNAMES"), ":")
		for i := range n {
			f := os.NewFile(uintptr(3+i), "listen")
			l, err := net.FileListener(f)
			f.Close()
			if err != nil {
				return nil, nil, fmt.Errorf("fd %d: %w", 3+i, err)
			}
			if i < len(names) && names[i] == "probe" {
				probe = l
			} else {
				public = append(public, l)
			}
		}
		if len(public) == 0 {
			return nil, nil, errors.New("LISTEN_FDS passed no public socket")
		}
		return public, probe, nil
	}
	if len(args) == 0 {
		return nil, nil, errors.New("no inherited sockets and no address to bind")
	}
	l, err := net.Listen("tcp", args[0])
	if err != nil {
		return nil, nil, err
	}
	return []net.Listener{l}, nil, nil
}

// writeFault arms a fault for the next generation that starts.
func writeFault(dir, fault string) error {
	return os.WriteFile(filepath.Join(dir, "fault"), []byte(fault), 0o644)
}
