package cli

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
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

// followReloads prints, on c.errw and until the returned stop is called,
// the main log's lines about reloads and hand-offs logged from t0 on: the
// progress of a roll, read from the daemon's own log stream (no polling).
// stop waits, at most progressTail, for the last line of each process it
// names (the stream may trail the reply). Nothing is shown when the daemon
// has no main log file.
func (c *ctl) followReloads(ctx context.Context, t0 time.Time) (stop func(names []string)) {
	cl, err := c.rpcClient()
	if err != nil {
		return func([]string) {}
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &progressWriter{c: c, since: t0.Add(-time.Second), ended: map[string]bool{}, changed: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Go(func() { _ = cl.Stream(ctx, "/mainlogtail", w) })
	return func(names []string) {
		defer wg.Wait()
		defer cancel()
		deadline := time.NewTimer(progressTail)
		defer deadline.Stop()
		for !w.endedAll(names) {
			select {
			case <-w.changedCh():
			case <-deadline.C:
				return
			case <-ctx.Done():
				return
			}
		}
	}
}

// progressTail bounds the wait for the stream's last lines after the reply.
const progressTail = 2 * time.Second

// progressWriter picks the reload lines out of the main log stream.
type progressWriter struct {
	c     *ctl
	since time.Time
	part  []byte

	mu      sync.Mutex
	ended   map[string]bool // processes whose reload's last line came
	changed chan struct{}   // closed and replaced when ended grows
}

func (w *progressWriter) changedCh() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.changed
}

func (w *progressWriter) endedAll(names []string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, n := range names {
		if !w.ended[n] {
			return false
		}
	}
	return true
}

// end notes the last line of a process's reload: "reloaded: NAME (" or
// "reload of 'NAME' failed".
func (w *progressWriter) end(msg string) {
	name := ""
	if rest, ok := strings.CutPrefix(msg, "reloaded: "); ok {
		name, _, _ = strings.Cut(rest, " (")
	} else if rest, ok := strings.CutPrefix(msg, "reload of '"); ok {
		name, _, _ = strings.Cut(rest, "'")
	}
	if name == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ended[name] = true
	close(w.changed)
	w.changed = make(chan struct{})
}

// progressWords mark the main log lines that tell a reload's progress.
var progressWords = []string{"reloading '", "handing off '", "handed off '", "reloaded: ", "reload of '"}

func (w *progressWriter) Write(b []byte) (int, error) {
	w.part = append(w.part, b...)
	for {
		i := bytes.IndexByte(w.part, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := string(w.part[:i])
		w.part = w.part[i+1:]
		// "2006-01-02 15:04:05,000 LEVEL message"
		const stamp = len("2006-01-02 15:04:05,000")
		if len(line) <= stamp {
			continue
		}
		at, err := time.ParseInLocation("2006-01-02 15:04:05,000", line[:stamp], time.Local)
		if err != nil || at.Before(w.since) {
			continue
		}
		_, msg, _ := strings.Cut(line[stamp+1:], " ")
		for _, word := range progressWords {
			if strings.Contains(msg, word) {
				fmt.Fprintf(w.c.errw, "  %s %s\n", line[stamp-12:stamp-4], msg)
				w.end(msg)
				break
			}
		}
	}
}
