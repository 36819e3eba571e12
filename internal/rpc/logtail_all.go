package rpc

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/drover-sh/drover/internal/httpwire"
	"github.com/drover-sh/drover/internal/supervisor"
)

// The combined log: GET /logtail/all[/stdout|stderr] follows the logs of
// every process the caller may read, each line prefixed with its process
// ("web | …", "web (stderr) | …" when both streams are followed).
// Lines are whole: each log's output is cut at line ends and a line is
// written in one piece under one lock, so lines of two programs never
// mix. Processes that start later (drover scale, update) are followed
// from their next state change on: the stream watches the event bus.

// maxHeldLine bounds the start of a line held until its end comes; a
// longer line is sent in pieces, each ended with '\n'.
const maxHeldLine = 64 << 10

// allSource is one followed log of the combined stream.
type allSource struct {
	path, prefix string
}

// isLogtailAll reports whether r asks for the combined log, and for which
// channel ("" both).
func isLogtailAll(r *httpwire.Request) (channel string, ok bool) {
	rest, err := url.PathUnescape(strings.TrimLeft(strings.TrimPrefix(r.Path(), "/logtail"), "/"))
	if err != nil {
		return "", false
	}
	switch rest {
	case "all":
		return "", true
	case "all/stdout":
		return "stdout", true
	case "all/stderr":
		return "stderr", true
	}
	return "", false
}

// allSources lists the logs of the processes r's caller may read.
func (s *Server) allSources(r *httpwire.Request, channel string) []allSource {
	infos, err := s.opts.Backend.AllProcessInfo(r.Context())
	if err != nil {
		return nil
	}
	infos = visibleInfos(r.Context(), infos)
	seen := map[string]bool{}
	var out []allSource
	add := func(path, prefix string) {
		if path == "" || seen[path] {
			return
		}
		if _, err := os.Stat(path); err != nil {
			return // never written yet
		}
		seen[path] = true
		out = append(out, allSource{path, prefix})
	}
	for _, pi := range infos {
		name := pi.Name
		if pi.Group != pi.Name {
			name = pi.Group + ":" + pi.Name
		}
		if channel != "stderr" {
			add(pi.StdoutLogfile, name+" | ")
		}
		if channel != "stdout" {
			p := name + " | "
			if channel == "" {
				p = name + " (stderr) | "
			}
			add(pi.StderrLogfile, p)
		}
	}
	return out
}

// serveLogtailAll streams the combined log; 404 when the caller may read
// no log.
func (s *Server) serveLogtailAll(w *httpwire.ResponseWriter, r *httpwire.Request, channel string) {
	if r.Method != "GET" {
		w.Error(400, "400 Bad Request")
		return
	}
	srcs := s.allSources(r, channel)
	if len(srcs) == 0 {
		w.Error(404, "404 page not found")
		return
	}
	conn, br, bw, release, ok := s.hijackStream(w)
	if !ok {
		return
	}
	defer release()
	// No conn: an overflow only ends the watch for new processes, it
	// must not put a deadline on the log stream.
	sub := s.events.subscribe(nil)
	defer s.events.unsubscribe(sub)
	ctx, end := s.watchStream(conn, br, func() { s.events.unsubscribe(sub) })
	defer end()
	head, chunked := s.streamHead(r, "Content-Type: text/plain;charset=utf-8\r\nX-Accel-Buffering: no\r\n")
	if _, err := bw.WriteString(head); err != nil || bw.Flush() != nil {
		return
	}
	out := &allWriter{bw: bw, chunked: chunked}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	following := map[string]bool{}
	start := func(src allSource) {
		following[src.path] = true
		wg.Go(func() {
			lw := &lineCutter{prefix: []byte(src.prefix), out: out}
			err := followFrom(ctx, &s.watcher, src.path, lw.write, true)
			if ctx.Err() == nil && err != nil {
				s.log.Warn("log stream ended", "path", src.path, "err", err)
			}
			if out.failed() {
				cancel() // the client is gone: end every follower
			}
		})
	}
	for _, src := range srcs {
		start(src)
	}
	// A process added or started since: follow its logs too.
	var spare []supervisor.Event
	for ended := false; !ended && ctx.Err() == nil; {
		select {
		case <-sub.wake:
		case <-ctx.Done():
			continue
		}
		var batch []supervisor.Event
		batch, ended, _ = s.events.take(sub, spare)
		if slices.ContainsFunc(batch, func(e supervisor.Event) bool { return e.Kind == supervisor.EventProcessState }) {
			for _, src := range s.allSources(r, channel) {
				if !following[src.path] {
					start(src)
				}
			}
		}
		clear(batch)
		spare = batch
	}
	<-ctx.Done()
	wg.Wait()
	cancel()
	if chunked && ctx.Err() == nil {
		writeLastChunk(bw)
	}
}

// allWriter writes whole prefixed lines to the client, one at a time.
type allWriter struct {
	mu      sync.Mutex
	bw      *bufio.Writer
	chunked bool
	err     error
}

func (a *allWriter) send(p []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return a.err
	}
	if a.chunked {
		fmt.Fprintf(a.bw, "%x\r\n", len(p))
	}
	a.bw.Write(p)
	if a.chunked {
		a.bw.WriteString("\r\n")
	}
	a.err = a.bw.Flush()
	return a.err
}

func (a *allWriter) failed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err != nil
}

// lineCutter turns one log's chunks into prefixed whole lines: the start
// of a line waits in held for its end.
type lineCutter struct {
	prefix []byte
	out    *allWriter
	held   []byte
	buf    []byte
}

func (l *lineCutter) write(p []byte) error {
	buf := l.buf[:0]
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if len(l.held)+len(p) <= maxHeldLine {
				l.held = append(l.held, p...)
				break
			}
			buf = l.line(buf, append(l.held, p...))
			l.held = l.held[:0]
			break
		}
		line := p[:i]
		if len(l.held) > 0 {
			line = append(l.held, line...)
			l.held = l.held[:0]
		}
		buf = l.line(buf, line)
		p = p[i+1:]
	}
	l.buf = buf
	if len(buf) == 0 {
		return nil
	}
	return l.out.send(buf)
}

func (l *lineCutter) line(buf, line []byte) []byte {
	buf = append(buf, l.prefix...)
	buf = append(buf, line...)
	return append(buf, '\n')
}
