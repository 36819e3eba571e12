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
// Nothing is shown when the daemon has no main log file.
func (c *ctl) followReloads(ctx context.Context, t0 time.Time) (stop func()) {
	cl, err := c.rpcClient()
	if err != nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = cl.Stream(ctx, "/mainlogtail", &progressWriter{c: c, since: t0.Add(-time.Second)})
	})
	return func() { cancel(); wg.Wait() }
}

// progressWriter picks the reload lines out of the main log stream.
type progressWriter struct {
	c     *ctl
	since time.Time
	part  []byte
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
				break
			}
		}
	}
}
