package reload

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/spawn"
)

// helperArg selects a helper child mode of the test binary.
const helperArg = "__reload_helper"

// The test binary is also spawn's shim (spawn.Start re-executes
// /proc/self/exe) and the helper children.
func TestMain(m *testing.M) {
	if spawn.IsShim(os.Args) {
		err := spawn.ShimMain(os.Args)
		fmt.Fprintf(os.Stderr, "drover: %v\n", err)
		os.Exit(127)
	}
	if len(os.Args) > 2 && os.Args[1] == helperArg {
		os.Exit(helperMain(os.Args[2], os.Args[3:]))
	}
	os.Exit(m.Run())
}

func helperMain(mode string, args []string) int {
	switch mode {
	case "http":
		return helperHTTP()
	case "notify":
		return helperNotify(args)
	}
	fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
	return 2
}

// helperHTTP is a tiny server of the kind drover reloads: it serves every
// inherited socket (LISTEN_FDS, checked against LISTEN_PID as real servers
// do), answers with its generation, takes 300 ms on /slow, loads its "app"
// for 200 ms before serving, and on SIGTERM stops gracefully (drainStop).
// With HELPER_HOLD_GEN equal to its generation it never answers /slow.
func helperHTTP() int {
	if os.Getenv("LISTEN_PID") != strconv.Itoa(os.Getpid()) {
		fmt.Fprintln(os.Stderr, "LISTEN_PID is not my pid")
		return 3
	}
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n < 1 {
		fmt.Fprintln(os.Stderr, "no LISTEN_FDS")
		return 3
	}
	gen := os.Getenv("DROVER_GENERATION")
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	time.Sleep(200 * time.Millisecond) // the app loading: requests wait in the backlog
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "gen=%s", gen) })
	hold := gen != "" && os.Getenv("HELPER_HOLD_GEN") == gen
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		if hold { // answer only when the client gives up: in flight until killed
			<-r.Context().Done()
			return
		}
		time.Sleep(300 * time.Millisecond)
		fmt.Fprintf(w, "gen=%s", gen)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	d := newDrainer()
	srv := &http.Server{Handler: mux, ConnState: d.connState}
	var lns []net.Listener
	for i := range n {
		f := os.NewFile(uintptr(3+i), "listener")
		ln, err := net.FileListener(f)
		f.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, "fd", 3+i, err)
			return 3
		}
		lns = append(lns, ln)
	}
	var serving sync.WaitGroup
	for _, ln := range lns {
		serving.Go(func() { _ = srv.Serve(ln) })
	}
	fmt.Printf("gen %s serving %d sockets (%s)\n", gen, n, os.Getenv("LISTEN_FDNAMES"))
	<-term
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.stop(ctx, srv, lns, &serving); err != nil {
		fmt.Fprintln(os.Stderr, "graceful stop:", err)
		return 1
	}
	return 0
}

// drainer stops a Go HTTP server without dropping a request. Go's
// http.Server.Shutdown alone is not enough: a connection it accepted but
// whose request it reads after Shutdown began is closed without an answer
// (net/http's conn.serve returns when shuttingDown), which a client sees
// as an empty reply. So: stop keep-alives, close the listeners (close(2),
// never shutdown(2): the next generation shares the sockets), wait until
// Serve returned (every accepted connection is then tracked), wait until
// no connection is active and no new one is younger than newGrace (a
// client may have opened one it never uses, as http.Transport does), and
// only then Shutdown.
type drainer struct {
	mu      sync.Mutex
	active  map[net.Conn]bool
	fresh   map[net.Conn]time.Time // StateNew, since when
	changed chan struct{}
}

const newGrace = time.Second

func newDrainer() *drainer {
	return &drainer{active: map[net.Conn]bool{}, fresh: map[net.Conn]time.Time{}, changed: make(chan struct{})}
}

func (d *drainer) connState(c net.Conn, s http.ConnState) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.active, c)
	delete(d.fresh, c)
	switch s {
	case http.StateNew:
		d.fresh[c] = time.Now()
	case http.StateActive:
		d.active[c] = true
	}
	close(d.changed)
	d.changed = make(chan struct{})
}

// pending reports whether to keep waiting, and until when at most.
func (d *drainer) pending() (bool, time.Time, chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var until time.Time
	for _, t := range d.fresh {
		if e := t.Add(newGrace); e.After(time.Now()) && e.After(until) {
			until = e
		}
	}
	return len(d.active) > 0 || !until.IsZero(), until, d.changed
}

func (d *drainer) stop(ctx context.Context, srv *http.Server, lns []net.Listener, serving *sync.WaitGroup) error {
	srv.SetKeepAlivesEnabled(false)
	for _, ln := range lns {
		ln.Close()
	}
	serving.Wait()
	for {
		wait, until, ch := d.pending()
		if !wait {
			break
		}
		var expire <-chan time.Time
		if !until.IsZero() {
			t := time.NewTimer(time.Until(until))
			defer t.Stop()
			expire = t.C
		}
		select {
		case <-ch:
		case <-expire:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return srv.Shutdown(ctx)
}

// helperNotify sends its arguments as sd_notify datagrams to
// NOTIFY_SOCKET, one per argument ("\n" within an argument separates
// assignments); an argument "child:MSG" makes a child of this process send
// MSG. It then writes "sent" and stays alive until stdin closes, so the
// senders can be checked against the process tree.
func helperNotify(args []string) int {
	var kids []*exec.Cmd
	for _, a := range args {
		if msg, ok := strings.CutPrefix(a, "child:"); ok {
			self, _ := os.Executable()
			c := exec.Command(self, helperArg, "notify", msg)
			c.Stdin = os.Stdin
			out, _ := c.StdoutPipe()
			if err := c.Start(); err != nil {
				return 1
			}
			buf := make([]byte, 5)
			if _, err := out.Read(buf); err != nil { // the child's "sent"
				return 1
			}
			kids = append(kids, c)
			continue
		}
		if err := sdNotify(strings.ReplaceAll(a, `\n`, "\n")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	fmt.Print("sent\n")
	buf := make([]byte, 1)
	os.Stdin.Read(buf)
	for _, c := range kids {
		c.Wait()
	}
	return 0
}

func sdNotify(msg string) error {
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: os.Getenv("NOTIFY_SOCKET"), Net: "unixgram"})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(msg))
	return err
}
