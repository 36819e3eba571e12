package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/drover-sh/drover/internal/rpc"
)

// reloadOpts are `drover reload`'s own options.
type reloadOpts struct {
	batch    int  // processes of a group reloaded together (--batch N)
	progress bool // show the roll as it happens (--progress; default on a terminal)
}

// parseReloadOpts takes --batch N, --batch=N and --progress from args and
// returns the names left.
func parseReloadOpts(args []string) (reloadOpts, []string, error) {
	o := reloadOpts{batch: 1}
	var names []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--progress":
			o.progress = true
		case a == "--batch" || strings.HasPrefix(a, "--batch="):
			v, inline := strings.CutPrefix(a, "--batch=")
			if !inline {
				if i+1 >= len(args) {
					return o, nil, fmt.Errorf("--batch needs a number")
				}
				i++
				v = args[i]
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return o, nil, fmt.Errorf("--batch %q: want a whole number of at least 1", v)
			}
			o.batch = n
		default:
			names = append(names, a)
		}
	}
	return o, names, nil
}

// followReloads prints on c.errw each step of the reloads that run until
// the returned stop is called, as the daemon's event stream (GET /events)
// carries them: "web reload READY bluegreen (old pid 1, new pid 2, 6 ms)";
// only group's when group is set.
// It returns once subscribed, so no step is missed. stop waits, at most
// progressTail, for the last step (DONE or FAILED) of each process it
// names: the stream may trail the reply. Against a daemon without the
// stream nothing is shown.
func (c *ctl) followReloads(ctx context.Context, group string) (stop func(names []string)) {
	cl, err := c.rpcClient()
	if err != nil {
		return func([]string) {}
	}
	ctx, cancel := context.WithCancel(ctx)
	sse := &sseReader{subscribed: make(chan struct{}), events: make(chan []byte, rpc.EventBuffer), done: ctx.Done()}
	streamEnded := make(chan struct{})
	go func() {
		defer close(streamEnded)
		_ = cl.Stream(ctx, "/events", sse)
	}()
	select {
	case <-sse.subscribed:
	case <-streamEnded:
	}
	w := &progress{c: c, group: group, ended: map[string]bool{}, changed: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case b := <-sse.events:
				w.take(b)
			case <-ctx.Done():
				return
			}
		}
	})
	return func(names []string) {
		defer wg.Wait()
		defer func() { cancel(); <-streamEnded }()
		deadline := time.NewTimer(progressTail)
		defer deadline.Stop()
		for !w.endedAll(names) {
			select {
			case <-w.changedCh():
			case <-deadline.C:
				return
			case <-streamEnded:
				return
			}
		}
	}
}

// progressTail bounds the wait for the stream's last steps after the reply.
const progressTail = 2 * time.Second

// progress prints the reload steps of the event stream and notes which
// processes' reloads ended.
type progress struct {
	c     *ctl
	group string // "" for every group

	mu      sync.Mutex
	ended   map[string]bool // processes whose reload's last step came
	changed chan struct{}   // closed and replaced when ended grows
}

// take prints one event of the stream if it is a reload's step.
func (w *progress) take(b []byte) {
	var e rpc.EventJSON
	if json.Unmarshal(b, &e) != nil || !strings.HasPrefix(e.Type, "PROCESS_RELOAD_") || (w.group != "" && e.Group != w.group) {
		return
	}
	fmt.Fprintf(w.c.errw, "  %s\n", eventLine(e))
	if e.Phase != "DONE" && e.Phase != "FAILED" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ended[e.Name] = true
	close(w.changed)
	w.changed = make(chan struct{})
}

func (w *progress) changedCh() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.changed
}

func (w *progress) endedAll(names []string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, n := range names {
		if !w.ended[n] {
			return false
		}
	}
	return true
}
