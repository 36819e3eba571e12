package reload

import (
	"bytes"
	"context"
	"regexp"
	"sync"
)

// MaxLogLine is the longest line a LogProbe matches as a whole; a longer
// line is matched on its first MaxLogLine bytes.
const MaxLogLine = 64 << 10

// LogProbe is ready when a line of one generation's output matches a
// regexp. Make one per generation and feed it from every captured stream
// of that generation through its own Hook.
type LogProbe struct {
	re      *regexp.Regexp
	matched chan struct{}
	once    sync.Once
	mu      sync.Mutex
	line    string
}

// NewLogProbe returns a probe waiting for a line matching re.
func NewLogProbe(re *regexp.Regexp) *LogProbe {
	return &LogProbe{re: re, matched: make(chan struct{})}
}

// Hook returns a function for logfile.Sink.OnLog of one stream. It keeps
// that stream's partial last line between calls, so a line split across
// reads still matches, and it never blocks: after a match it returns at
// once. The slice is not retained.
func (l *LogProbe) Hook() func(chunk []byte) {
	var (
		mu   sync.Mutex
		buf  []byte
		skip bool // inside a line longer than MaxLogLine, already matched on
	)
	return func(chunk []byte) {
		if l.done() {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for len(chunk) > 0 {
			i := bytes.IndexByte(chunk, '\n')
			part := chunk
			if i >= 0 {
				part, chunk = chunk[:i], chunk[i+1:]
			} else {
				chunk = nil
			}
			if !skip {
				room := MaxLogLine - len(buf)
				buf = append(buf, part[:min(len(part), room)]...)
				if len(buf) >= MaxLogLine {
					l.match(buf)
					buf, skip = buf[:0], true
				}
			}
			if i >= 0 {
				if !skip {
					l.match(bytes.TrimSuffix(buf, []byte{'\r'}))
				}
				buf, skip = buf[:0], false
			}
		}
	}
}

func (l *LogProbe) match(line []byte) {
	if l.done() || !l.re.Match(line) {
		return
	}
	l.once.Do(func() {
		l.mu.Lock()
		l.line = string(line)
		l.mu.Unlock()
		close(l.matched)
	})
}

func (l *LogProbe) done() bool {
	select {
	case <-l.matched:
		return true
	default:
		return false
	}
}

// Line is the line that matched, "" before a match.
func (l *LogProbe) Line() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.line
}

// Wait implements Probe: nil once a line matched (also if it matched
// before Wait was called).
func (l *LogProbe) Wait(ctx context.Context, g Gen) error {
	if l.done() {
		return nil
	}
	select {
	case <-l.matched:
		return nil
	case <-g.Exited:
		if l.done() { // the line and the exit raced
			return nil
		}
		return notReady(ctx, g, nil)
	case <-ctx.Done():
		return notReady(ctx, g, nil)
	}
}
