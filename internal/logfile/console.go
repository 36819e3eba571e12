package logfile

import (
	"bytes"
	"io"
	"sync"
)

// maxConsoleLine bounds the unfinished line a pipe holds back for the
// console between reads: once it reaches this size it is written as a line
// of its own (with the prefix) and the rest follows as another. A long
// line that arrives whole in one read is written whole.
const maxConsoleLine = 16 << 10

// Console serialises whole lines from many writers onto drover's own
// stdout and stderr: every Write through Stdout or Stderr holds one lock,
// so programs' lines (Sink.Console) and the main log's echo never land in
// the middle of each other, even on a pipe where writes above PIPE_BUF
// are not atomic.
type Console struct {
	mu       sync.Mutex
	out, err io.Writer
}

// NewConsole returns a Console writing to stdout and stderr.
func NewConsole(stdout, stderr io.Writer) *Console {
	return &Console{out: stdout, err: stderr}
}

// Locker is the console's lock, for a Writer on the same file
// (Writer.Serialize).
func (c *Console) Locker() sync.Locker { return &c.mu }

// Stdout returns a writer to the console's stdout.
func (c *Console) Stdout() io.Writer { return consoleWriter{c, c.out} }

// Stderr returns a writer to the console's stderr.
func (c *Console) Stderr() io.Writer { return consoleWriter{c, c.err} }

type consoleWriter struct {
	c *Console
	w io.Writer
}

func (w consoleWriter) Write(p []byte) (int, error) {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	return w.w.Write(p)
}

// toConsole writes the complete lines of seg to the sink's Console, each
// behind the prefix, in one Write; the unfinished end of seg is kept in
// conLine for the next read. Bytes go through as they are (no UTF-8
// check): a console line is exactly what the program wrote.
func (p *pipeState) toConsole(seg []byte) {
	s := p.sink
	last := bytes.LastIndexByte(seg, '\n')
	if last < 0 {
		p.holdConsole(seg)
		return
	}
	lines := bytes.Count(seg[:last+1], []byte{'\n'})
	out := make([]byte, 0, len(p.conLine)+last+1+lines*len(s.ConsolePrefix))
	rest := seg[:last+1]
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		out = append(out, s.ConsolePrefix...)
		if p.conLine != nil {
			out = append(out, p.conLine...)
			p.conLine = nil // no buffer kept while idle
		}
		out = append(out, rest[:i+1]...)
		rest = rest[i+1:]
	}
	_, _ = s.Console.Write(out)
	p.holdConsole(seg[last+1:])
}

// holdConsole keeps an unfinished line; a line that reaches
// maxConsoleLine is written out as a line of its own.
func (p *pipeState) holdConsole(part []byte) {
	for len(part) > 0 {
		n := min(len(part), maxConsoleLine-len(p.conLine))
		p.conLine = append(p.conLine, part[:n]...)
		part = part[n:]
		if len(p.conLine) == maxConsoleLine {
			p.flushConsole()
		}
	}
}

// flushConsole writes a held partial line, ended with a newline (at EOF,
// or when it grew too long).
func (p *pipeState) flushConsole() {
	if len(p.conLine) == 0 {
		return
	}
	s := p.sink
	out := make([]byte, 0, len(s.ConsolePrefix)+len(p.conLine)+1)
	out = append(append(append(out, s.ConsolePrefix...), p.conLine...), '\n')
	_, _ = s.Console.Write(out)
	p.conLine = nil
}
