package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/drover-sh/drover/internal/rpc"
)

// `drover events [-f] [--json]`: the state of every program as synthetic
// events (what `tail` shows before -f), then with -f every event of GET
// /events as it comes, until Ctrl-C or the daemon ends the stream.

var eventsHelp = []string{
	"events\t\tPrint the state of every process as one event each (snapshot) and exit",
	"events -f\tThe same, then follow: print every event as it happens (Ctrl-C to exit):",
	"\t\tstate changes, groups added and removed, the daemon's state, each step",
	"\t\tof a reload (STARTED, SPAWNED, READY, RETIRING, RETIRED, DONE, FAILED)",
	"events --json\tOne JSON object per line, as GET /events carries it (docs/api.md);",
	"\t\tthe snapshot's have \"snapshot\": true",
}

func ctlEvents(c *ctl, ctx context.Context, args []string) error {
	follow := false
	for _, a := range args {
		switch a {
		case "-f", "--follow":
			follow = true
		default:
			c.println("Error: bad argument " + a)
			c.exit = exitGeneric
			c.usage("events")
			return nil
		}
	}
	if ok, err := c.upcheck(ctx); !ok {
		return err
	}
	if !follow {
		return c.eventSnapshot(ctx)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	cl, err := c.rpcClient()
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sse := &sseReader{subscribed: make(chan struct{}), events: make(chan []byte, rpc.EventBuffer), done: sctx.Done()}
	ended := make(chan error, 1)
	go func() { ended <- cl.Stream(sctx, "/events", sse) }()
	// The snapshot is read once the stream is subscribed, so that nothing
	// falls between the two (a change may show in both).
	select {
	case <-sse.subscribed:
	case err := <-ended:
		c.eventsEnded(ctx, err)
		return nil
	}
	if err := c.eventSnapshot(ctx); err != nil {
		return err
	}
	c.flush()
	for {
		select {
		case b := <-sse.events:
			if c.printEvent(b) {
				c.flush()
				c.exit = exitGeneric
				return nil
			}
			if len(sse.events) == 0 {
				c.flush()
			}
		case err := <-ended:
			// What was queued before the end is printed first.
			for len(sse.events) > 0 {
				c.printEvent(<-sse.events)
			}
			c.flush()
			c.eventsEnded(ctx, err)
			return nil
		}
	}
}

// eventsEnded reports the end of the stream: Ctrl-C and the daemon ending
// it are normal; anything else is a failure.
func (c *ctl) eventsEnded(ctx context.Context, err error) {
	switch {
	case ctx.Err() != nil:
	case err != nil:
		c.streamProblem("/events", err)
	default:
		c.flush()
		fmt.Fprintln(c.errw, "drover events: the daemon ended the stream")
	}
}

// eventSnapshot prints every process's state as a synthetic event.
func (c *ctl) eventSnapshot(ctx context.Context) error {
	v, err := c.call(ctx, "getAllProcessInfo")
	if err != nil {
		return err
	}
	all, err := structList(v)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, m := range all {
		state := infoStr(m, "statename")
		e := rpc.EventJSON{Type: "PROCESS_STATE_" + state, Time: now, Group: infoStr(m, "group"),
			Name: infoStr(m, "name"), To: state, Pid: infoInt(m, "pid"), Snapshot: true}
		if c.o.json {
			b, err := json.Marshal(e)
			if err != nil {
				return err
			}
			c.println(string(b))
		} else {
			c.println(eventLine(e))
		}
	}
	return nil
}

// printEvent prints one event of the stream; true for the overflow note
// (the stream ends after it).
func (c *ctl) printEvent(b []byte) bool {
	var e rpc.EventJSON
	if err := json.Unmarshal(b, &e); err != nil {
		fmt.Fprintf(c.errw, "drover events: bad event %q: %v\n", b, err)
		return false
	}
	if c.o.json {
		c.println(string(b))
	} else {
		c.println(eventLine(e))
	}
	return e.Type == "DROVER_EVENTS_OVERFLOW"
}

// eventLine is the readable form: "12:00:01.123 web RUNNING (pid 123)".
func eventLine(e rpc.EventJSON) string {
	var b strings.Builder
	b.WriteString(e.Time.Local().Format("15:04:05.000"))
	b.WriteByte(' ')
	who := e.Name
	if e.Group != "" && e.Group != e.Name {
		who = e.Group + ":" + e.Name
	}
	var detail []string
	switch {
	case strings.HasPrefix(e.Type, "PROCESS_STATE_"):
		b.WriteString(who + " " + e.To)
		if e.Pid != 0 {
			detail = append(detail, "pid "+strconv.Itoa(e.Pid))
		}
		switch e.To {
		case "EXITED":
			if e.Expected {
				detail = append(detail, "expected")
			} else {
				detail = append(detail, "unexpected")
			}
		case "BACKOFF":
			detail = append(detail, "tries "+strconv.Itoa(e.Tries))
		}
	case strings.HasPrefix(e.Type, "PROCESS_RELOAD_"):
		b.WriteString(who + " reload " + e.Phase + " " + e.Strategy)
		if e.OldPid != 0 {
			detail = append(detail, "old pid "+strconv.Itoa(e.OldPid))
		}
		if e.NewPid != 0 {
			detail = append(detail, "new pid "+strconv.Itoa(e.NewPid))
		}
		detail = append(detail, strconv.FormatFloat(e.ElapsedMs, 'f', 0, 64)+" ms")
		if e.Error != "" {
			detail = append(detail, e.Error)
		}
	case e.Type == "PROCESS_GROUP_ADDED":
		b.WriteString("group " + e.Group + " added")
	case e.Type == "PROCESS_GROUP_REMOVED":
		b.WriteString("group " + e.Group + " removed")
	case strings.HasPrefix(e.Type, "SUPERVISOR_STATE_CHANGE_"):
		b.WriteString("daemon " + e.State)
	case e.Type == "PROCESS_LIMIT_EXCEEDED":
		b.WriteString(fmt.Sprintf("%s over its %s limit: %g > %g for %gs, %s", who, e.Resource, e.Value, e.Limit,
			e.HeldSeconds, e.Action))
	case e.Type == "PROCESS_HEALTH_FAILED":
		fmt.Fprintf(&b, "%s health check failed %d times in a row, %s", who, e.Failures, e.Action)
		if e.Pid != 0 {
			detail = append(detail, "pid "+strconv.Itoa(e.Pid))
		}
		if e.Error != "" {
			detail = append(detail, e.Error)
		}
	default:
		b.WriteString(e.Type)
		if who != "" {
			b.WriteString(" " + who)
		}
		if e.Error != "" {
			detail = append(detail, e.Error)
		}
	}
	if len(detail) > 0 {
		b.WriteString(" (" + strings.Join(detail, ", ") + ")")
	}
	return b.String()
}

// sseReader takes the body of GET /events: its first bytes (a comment)
// say the stream is subscribed; each "data:" line is one event.
type sseReader struct {
	subscribed chan struct{}
	sawFirst   bool
	line       []byte
	events     chan []byte
	done       <-chan struct{} // the reader left: drop the rest
}

func (r *sseReader) Write(p []byte) (int, error) {
	if !r.sawFirst && len(p) > 0 {
		r.sawFirst = true
		close(r.subscribed)
	}
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			r.line = append(r.line, p...)
			break
		}
		r.line = append(r.line, p[:i]...)
		p = p[i+1:]
		if d, ok := bytes.CutPrefix(r.line, []byte("data:")); ok {
			select {
			case r.events <- bytes.Clone(bytes.TrimPrefix(d, []byte(" "))):
			case <-r.done:
				return 0, context.Canceled
			}
		}
		r.line = r.line[:0]
	}
	return n, nil
}
