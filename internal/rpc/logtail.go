package rpc

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/drover-sh/drover/internal/access"
	"github.com/drover-sh/drover/internal/httpwire"
	"github.com/drover-sh/drover/internal/supervisor"
)

// serveLogtail answers GET /logtail/<namespec>[/stdout|stderr] and GET
// /mainlogtail: 200 text/plain, chunked, the last 1024 bytes then new
// data as it is written; 404 for an unknown process or a missing file.
//
// The connection is hijacked: it carries nothing after the stream, and
// reading it ourselves notices a client that goes away (supervisorctl
// sends a stray CRLF after its headers, then nothing).
func (s *Server) serveLogtail(w *httpwire.ResponseWriter, r *httpwire.Request, main bool) {
	if channel, all := isLogtailAll(r); all && !main {
		s.serveLogtailAll(w, r, channel)
		return
	}
	if r.Method != "GET" {
		w.Error(400, "400 Bad Request")
		return
	}
	path, ok := s.logtailPath(r, main)
	if !ok {
		w.Error(404, "404 page not found")
		return
	}
	fi, err := os.Stat(path)
	if err != nil {
		w.Error(404, "404 page not found")
		return
	}
	conn, br, bw, release, ok := s.hijackStream(w)
	if !ok {
		return
	}
	defer release()
	ctx, end := s.watchStream(conn, br, nil)
	defer end()
	head, chunked := s.streamHead(r, "Last-Modified: "+fi.ModTime().UTC().Format(httpwire.TimeFormat)+"\r\n"+
		"Content-Type: text/plain;charset=utf-8\r\nX-Accel-Buffering: no\r\n")
	if _, err := bw.WriteString(head); err != nil {
		return
	}
	emit := func(p []byte) error {
		if chunked {
			fmt.Fprintf(bw, "%x\r\n", len(p))
		}
		bw.Write(p)
		if chunked {
			bw.WriteString("\r\n")
		}
		return bw.Flush()
	}
	if err := bw.Flush(); err != nil {
		return
	}
	err = follow(ctx, &s.watcher, path, emit)
	if ctx.Err() == nil && err != nil {
		s.log.Warn("log stream ended", "path", path, "err", err)
	}
	if chunked {
		writeLastChunk(bw)
	}
}

// hijackStream takes w's connection for a stream (/logtail, /events),
// unless the Server is closing or holds as many streams as it may (then
// w answers 503 and ok is false). release, deferred by the caller, closes
// the connection and counts the stream out.
func (s *Server) hijackStream(w *httpwire.ResponseWriter) (conn net.Conn, br *bufio.Reader, bw *bufio.Writer, release func(), ok bool) {
	if !s.startStream() {
		w.Error(503, "503 Service Unavailable: too many streams")
		return nil, nil, nil, nil, false
	}
	conn, br, bw = w.Hijack()
	return conn, br, bw, func() {
		if s.onStreamEnd != nil {
			s.onStreamEnd()
		}
		conn.Close()
		s.endStream()
	}, true
}

// watchStream watches the client of a hijacked stream: the returned ctx
// ends when the client goes away (whatever it sends, a stray CRLF, is
// discarded; EOF or an error means it is gone) or the Server closes.
// Ending it closes conn, which unblocks a write, and runs also (when set).
// end, deferred by the caller, releases the watch without running also.
func (s *Server) watchStream(conn net.Conn, br *bufio.Reader, also func()) (ctx context.Context, end func()) {
	ctx, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, func() {
		conn.Close()
		if also != nil {
			also()
		}
	})
	go func() {
		_, _ = io.Copy(io.Discard, br)
		cancel()
	}()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, func() { stop(); cancel() }
}

// streamHead is a stream's response head with the given header lines
// (each ending in CRLF): chunked for HTTP/1.1, closed at its end for 1.0.
func (s *Server) streamHead(r *httpwire.Request, headers string) (head string, chunked bool) {
	chunked = r.AtLeast(1, 1)
	var h strings.Builder
	fmt.Fprintf(&h, "HTTP/%d.%d 200 OK\r\n", r.Major, r.Minor)
	fmt.Fprintf(&h, "Server: %s\r\n", s.opts.ServerHeader)
	fmt.Fprintf(&h, "Date: %s\r\n", time.Now().UTC().Format(httpwire.TimeFormat))
	h.WriteString(headers)
	if chunked {
		h.WriteString("Transfer-Encoding: chunked\r\n")
	} else {
		h.WriteString("Connection: close\r\n")
	}
	h.WriteString("\r\n")
	return h.String(), chunked
}

// startStream registers a log stream unless the Server is closing (so
// Close's Wait never races with Add) or runs as many as a listener may
// hold connections: a stream is a hijacked connection, which no
// listener's cap counts.
func (s *Server) startStream() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
		return false
	default:
	}
	if s.nstreams >= s.maxConns {
		return false
	}
	s.nstreams++
	s.streams.Add(1)
	return true
}

func (s *Server) endStream() {
	s.mu.Lock()
	s.nstreams--
	s.mu.Unlock()
	s.streams.Done()
}

func writeLastChunk(bw *bufio.Writer) {
	bw.WriteString("0\r\n\r\n")
	_ = bw.Flush()
}

// logtailPath resolves the file a logtail request names.
func (s *Server) logtailPath(r *httpwire.Request, main bool) (string, bool) {
	g := grantFrom(r.Context())
	if main {
		p := s.opts.Backend.MainLogPath()
		if p != "" && !g.rights.Everything(access.Read) {
			s.d.audit(g, "GET /mainlogtail", nil, supervisor.NewFault(supervisor.CodeFailed,
				"access denied: "+g.who()+" may not read the main log (needs read = *)"))
			return "", false
		}
		return p, p != ""
	}
	// /logtail/<namespec>[/<channel>]; the namespec may be %-escaped.
	rest := strings.TrimPrefix(r.Path(), "/logtail")
	rest = strings.TrimLeft(rest, "/")
	rest, err := url.PathUnescape(rest)
	if err != nil || rest == "" {
		return "", false
	}
	name, channel, ok := strings.Cut(rest, "/")
	if !ok {
		channel = "stdout"
	}
	if _, proc := splitNamespec(name); proc == "" {
		return "", false
	}
	pi, err := s.opts.Backend.ProcessInfo(r.Context(), name)
	if err != nil {
		return "", false
	}
	if !g.rights.Process(access.Read, pi.Group, pi.Name) {
		// Refused as unknown (no name is confirmed to the caller), and
		// audited as every refusal is.
		s.d.audit(g, "GET /logtail", []any{name}, supervisor.NewFault(supervisor.CodeFailed,
			"access denied: "+g.who()+" may not read "+name))
		return "", false
	}
	var p string
	switch channel {
	case "stdout":
		p = pi.StdoutLogfile
	case "stderr":
		p = pi.StderrLogfile
	}
	return p, p != ""
}
