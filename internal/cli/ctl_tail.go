package cli

import (
	"github.com/drover-sh/drover/internal/supervisor"

	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"

	"github.com/drover-sh/drover/internal/pyrepr"
	"github.com/drover-sh/drover/internal/rpc"
)

// The log verbs (tail, maintail) and fg. "-f" streams GET /logtail/…
// or /mainlogtail until Ctrl-C or until the server ends the stream.

// defaultTailBytes is how much of a log tail and maintail show.
const defaultTailBytes = 1600

// syncWriter serialises writes to the ctl's output from the stream
// goroutines and flushes each one, so output appears as it arrives.
type syncWriter struct {
	mu *sync.Mutex
	c  *ctl
}

func (w syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.c.out.Write(p)
	if err == nil {
		err = w.c.out.Flush()
	}
	return n, err
}

func (w syncWriter) line(s string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.c.println(s)
	w.c.flush()
}

// streamProblem prints a stream failure as supervisorctl's stream client
// does (on stderr) and sets exit status 1. supervisorctl leaves the exit
// status at 0 here; drover does not report a failed tail as success.
func (c *ctl) streamProblem(path string, err error) {
	var he *rpc.HTTPError
	msg := fmt.Sprintf("Cannot connect, error: %v", err)
	if errors.As(err, &he) {
		msg = fmt.Sprintf("Cannot read, status code %d", he.StatusCode)
	}
	c.flush()
	fmt.Fprintf(c.errw, "%s%s %s\n", c.o.serverURL, path, msg)
	c.exit = exitGeneric
}

// tailf follows one stream until Ctrl-C (which prints an empty line) or
// its end.
func (c *ctl) tailf(ctx context.Context, path string) error {
	// Catch Ctrl-C before saying it may be pressed.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	c.println("==> Press Ctrl-C to exit <==")
	c.flush()
	cl, err := c.rpcClient()
	if err != nil {
		return err
	}
	err = cl.Stream(ctx, path, syncWriter{&sync.Mutex{}, c})
	switch {
	case ctx.Err() != nil:
		c.println("")
	case err != nil:
		c.streamProblem(path, err)
	}
	return nil
}

// tailModifier reads "-f" (follow) or "-N" (bytes); ok is false for
// anything else.
func tailModifier(m string) (follow bool, n int, ok bool) {
	what := m[1:]
	if what == "f" {
		return true, 0, true
	}
	n, err := strconv.Atoi(strings.TrimSpace(what))
	return false, n, err == nil
}

func ctlTail(c *ctl, ctx context.Context, args []string) error {
	if ok, err := c.upcheck(ctx); !ok {
		return err
	}
	switch {
	case len(args) < 1:
		c.println("Error: too few arguments")
		c.exit = exitGeneric
		c.usage("tail")
		return nil
	case len(args) > 3:
		c.println("Error: too many arguments")
		c.exit = exitGeneric
		c.usage("tail")
		return nil
	}
	modifier := ""
	if strings.HasPrefix(args[0], "-") {
		modifier, args = args[0], args[1:]
	}
	name, channel := "", "stdout"
	switch len(args) {
	case 0:
		c.println("Error: tail requires process name")
		c.exit = exitGeneric
		return nil
	case 1:
		name = args[0]
	default:
		name, channel = args[0], strings.ToLower(args[len(args)-1])
		if channel != "stdout" && channel != "stderr" {
			c.println("Error: bad channel " + pyrepr.Str(channel))
			c.exit = exitGeneric
			return nil
		}
	}
	n := defaultTailBytes
	if modifier != "" {
		follow, m, ok := tailModifier(modifier)
		if !ok {
			c.println("Error: bad argument " + modifier)
			c.exit = exitGeneric
			return nil
		}
		if follow && name == "all" {
			// Every process's log, interleaved line by line with name
			// prefixes; both streams unless one is named.
			path := "/logtail/all"
			if len(args) > 1 {
				path += "/" + channel
			}
			return c.tailf(ctx, path)
		}
		if follow {
			return c.tailf(ctx, "/logtail/"+name+"/"+channel)
		}
		n = m
	}
	if name == "all" && c.prog == "drover tail" {
		c.println("Error: tail all needs -f (drover tail -f all [stdout|stderr])")
		c.exit = exitGeneric
		return nil
	}
	method := "readProcessStdoutLog"
	if channel == "stderr" {
		method = "readProcessStderrLog"
	}
	v, err := c.call(ctx, method, name, -n, 0)
	if f, ok := asFault(err); ok {
		c.exit = exitGeneric
		switch f.Code {
		case supervisor.CodeNoFile:
			c.println(errLine(name, "no log file"))
		case supervisor.CodeFailed:
			c.println(errLine(name, failedWhy(f.Error(), "unknown error reading log")))
		case supervisor.CodeBadName:
			c.println(errLine(name, "no such process name"))
		default:
			return err
		}
		return nil
	}
	if err != nil {
		return err
	}
	c.println(fmt.Sprint(v))
	return nil
}

func ctlMaintail(c *ctl, ctx context.Context, args []string) error {
	if ok, err := c.upcheck(ctx); !ok {
		return err
	}
	if len(args) > 1 {
		c.println("Error: too many arguments")
		c.exit = exitGeneric
		c.usage("maintail")
		return nil
	}
	n := defaultTailBytes
	if len(args) == 1 {
		follow, m, ok := false, 0, false
		if strings.HasPrefix(args[0], "-") {
			follow, m, ok = tailModifier(args[0])
		}
		if !ok {
			c.println("Error: bad argument " + args[0])
			c.exit = exitGeneric
			return nil
		}
		if follow {
			return c.tailf(ctx, "/mainlogtail")
		}
		n = m
	}
	v, err := c.call(ctx, "readLog", -n, 0)
	if f, ok := asFault(err); ok {
		c.exit = exitGeneric
		switch f.Code {
		case supervisor.CodeNoFile:
			c.println(errLine("supervisord", "no log file"))
		case supervisor.CodeFailed:
			c.println(errLine("supervisord", failedWhy(f.Error(), "unknown error reading log")))
		default:
			return err
		}
		return nil
	}
	if err != nil {
		return err
	}
	c.println(fmt.Sprint(v))
	return nil
}

// pyFault is Python's str() of an xmlrpc Fault.
func pyFault(f *supervisor.Fault) string {
	return fmt.Sprintf("<Fault %d: %s>", f.Code, pyrepr.Str(faultString(f)))
}

// ctlFg attaches to a running process: both log streams are shown and
// each input line is sent to its stdin. Ctrl-C or end of input detaches.
func ctlFg(c *ctl, ctx context.Context, args []string) error {
	if ok, err := c.upcheck(ctx); !ok {
		return err
	}
	switch {
	case len(args) == 0:
		c.println("ERROR: no process name supplied")
		c.exit = exitGeneric
		c.usage("fg")
		return nil
	case len(args) > 1:
		c.println("ERROR: too many process names supplied")
		c.exit = exitGeneric
		return nil
	}
	name := args[0]
	running := func() (bool, error) {
		v, err := c.call(ctx, "getProcessInfo", name)
		if err != nil {
			return false, err
		}
		m, _ := v.(map[string]any)
		return infoInt(m, "state") == stateRunning, nil
	}
	up, err := running()
	if f, ok := asFault(err); ok {
		if f.Code == supervisor.CodeBadName {
			c.println("ERROR: bad process name supplied")
			c.exit = exitGeneric
		} else {
			c.println("ERROR: " + pyFault(f))
		}
		return nil
	}
	if err != nil {
		return err
	}
	if !up {
		c.println("ERROR: process not running")
		c.exit = exitGeneric
		return nil
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	c.println("==> Press Ctrl-C to exit <==")
	c.flush()
	cl, err := c.rpcClient()
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	w := syncWriter{&sync.Mutex{}, c}
	var wg sync.WaitGroup
	for _, ch := range []string{"stdout", "stderr"} {
		wg.Go(func() {
			path := "/logtail/" + name + "/" + ch
			if err := cl.Stream(sctx, path, w); err != nil && sctx.Err() == nil {
				w.mu.Lock()
				c.streamProblem(path, err)
				w.mu.Unlock()
			}
		})
	}
	// The closing lines are printed once both streams have stopped, so
	// tail output still in flight never lands after "Exiting foreground".
	detach := func(lines ...string) error {
		cancel()
		wg.Wait()
		for _, l := range lines {
			w.line(l)
		}
		return nil
	}
	defer detach()
	for {
		line, err := c.in.readLine(ctx)
		if err != nil { // Ctrl-C or end of input
			return detach("Exiting foreground")
		}
		_, err = c.call(ctx, "sendProcessStdin", name, line+"\n")
		if err != nil && ctx.Err() != nil {
			return detach("Exiting foreground")
		}
		if f, ok := asFault(err); ok {
			if f.Code == supervisor.CodeNotRunning {
				return detach("Process got killed", "Exiting foreground")
			}
			return detach("ERROR: "+pyFault(f), "Exiting foreground")
		}
		if err != nil {
			return err
		}
		up, err := running()
		if err != nil && ctx.Err() != nil {
			return detach("Exiting foreground")
		}
		if err != nil {
			return err
		}
		if !up {
			return detach("Process got killed", "Exiting foreground")
		}
	}
}
