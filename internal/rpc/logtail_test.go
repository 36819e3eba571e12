package rpc

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// collector gathers what follow emits and lets a test wait for text.
type collector struct {
	ch  chan string
	buf strings.Builder
}

func (c *collector) emit(p []byte) error {
	c.ch <- string(p)
	return nil
}

// waitFor reads emitted pieces until the accumulated text ends with want.
func (c *collector) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !strings.HasSuffix(c.buf.String(), want) {
		select {
		case p := <-c.ch:
			c.buf.WriteString(p)
		case <-deadline:
			t.Fatalf("timed out waiting for %q; got %q", want, c.buf.String())
		}
	}
	c.buf.Reset()
}

func TestFollow(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.log")
	head := strings.Repeat("a", 2000) + strings.Repeat("b", 1024)
	appendFile(t, path, head)
	// Unrelated files in the same directory must not disturb the stream.
	other := filepath.Join(dir, "other.log")

	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{ch: make(chan string, 100)}
	done := make(chan error, 1)
	var w watcher
	defer w.close()
	go func() { done <- follow(ctx, &w, path, c.emit) }()

	c.waitFor(t, strings.Repeat("b", 1024)) // the last 1024 bytes only
	appendFile(t, other, "noise")
	appendFile(t, path, "new line\n")
	c.waitFor(t, "new line\n")

	// Truncation: note, then the new content from the start.
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, TruncatedNote)
	appendFile(t, path, "after truncate\n")
	c.waitFor(t, "after truncate\n")

	// Rotation: rename away, create anew; the stream switches files.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path+".1", "late write to old file\n")
	appendFile(t, path, "in the new file\n")
	c.waitFor(t, "in the new file\n")
	appendFile(t, path, "more\n")
	c.waitFor(t, "more\n")

	// Delete and re-create (clearProcessLogs does this).
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, "recreated\n")
	c.waitFor(t, "recreated\n")

	cancel()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Fatalf("follow returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("follow did not stop on cancel")
	}
	if err := follow(context.Background(), &w, filepath.Join(dir, "missing"), c.emit); err == nil {
		t.Fatal("follow of a missing file succeeded")
	}
}

func TestLogtailHTTP(t *testing.T) {
	s, f := newTestServer(t)
	ended := make(chan struct{}, 4)
	s.onStreamEnd = func() { ended <- struct{}{} }
	pi, _ := f.ProcessInfo(context.Background(), "g:b")
	appendFile(t, pi.StderrLogfile, strings.Repeat("x", 1500)+"tail-start")
	url := listenInet(t, s, Credentials{})
	addr := strings.TrimPrefix(url, "http://")

	conn, br, headers := rawLogtail(t, addr, "/logtail/g:b/stderr")
	hdr := strings.Join(headers, "\n")
	for _, want := range []string{"HTTP/1.1 200 OK", "Content-Type: text/plain;charset=utf-8",
		"X-Accel-Buffering: no", "Transfer-Encoding: chunked", "Last-Modified: "} {
		if !strings.Contains(hdr, want) {
			t.Fatalf("headers lack %q:\n%s", want, hdr)
		}
	}
	if strings.Contains(hdr, "Content-Length") {
		t.Fatalf("Content-Length on a stream:\n%s", hdr)
	}
	first := readChunk(t, br)
	if len(first) != 1024 || !strings.HasSuffix(first, "tail-start") {
		t.Fatalf("first chunk %d bytes: %q", len(first), first[len(first)-20:])
	}
	appendFile(t, pi.StderrLogfile, "live\n")
	if got := readChunk(t, br); got != "live\n" {
		t.Fatalf("live chunk %q", got)
	}
	// The client going away ends the stream (despite the stray CRLF).
	conn.Close()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("stream did not end after the client left")
	}

	// %-escaped namespec, default channel stdout, main log.
	appendFile(t, pi.StdoutLogfile, "out\n")
	conn, br, _ = rawLogtail(t, addr, "/logtail/g%3Ab")
	if got := readChunk(t, br); got != "out\n" {
		t.Fatalf("stdout chunk %q", got)
	}
	conn.Close()
	conn, br, _ = rawLogtail(t, addr, "/mainlogtail")
	if got := readChunk(t, br); got != "main log line\n" {
		t.Fatalf("main chunk %q", got)
	}
	// Close ends open streams and waits for them.
	s.Close()
	conn.Close()

	s2, f2 := newTestServer(t)
	url = listenInet(t, s2, Credentials{})
	for _, path := range []string{"/logtail/nope", "/logtail/g:a", "/logtail/cat/stdout", "/logtail/g:b/bogus",
		"/logtail/g:*", "/logtail/"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Fatalf("%s: %d, want 404", path, resp.StatusCode)
		}
	}
	f2.mainLog = ""
	resp, err := http.Get(url + "/mainlogtail")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("mainlogtail without log: %d", resp.StatusCode)
	}
	resp, err = http.Post(url+"/logtail/g:b", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("POST logtail: %d", resp.StatusCode)
	}
}

func TestLogtailHTTP10(t *testing.T) {
	s, f := newTestServer(t)
	pi, _ := f.ProcessInfo(context.Background(), "cat")
	appendFile(t, pi.StdoutLogfile, "old\n")
	url := listenInet(t, s, Credentials{})
	head, br := getHTTP10(t, strings.TrimPrefix(url, "http://"), "/logtail/cat")
	if !strings.HasPrefix(head.String(), "HTTP/1.0 200 OK") || strings.Contains(head.String(), "chunked") {
		t.Fatalf("HTTP/1.0 headers:\n%s", head.String())
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "old\n" {
		t.Fatalf("read %q %v", buf, err)
	}
}

// getHTTP10 sends an HTTP/1.0 GET of path to addr and returns the
// answer's head and the reader positioned at its body (10 s deadline).
func getHTTP10(t *testing.T, addr, path string) (*strings.Builder, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte("GET " + path + " HTTP/1.0\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\r\n" {
			return &head, br
		}
		head.WriteString(line)
	}
}
