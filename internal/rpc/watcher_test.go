package rpc

import (
	"context"
	"os"
	"strings"
	"testing"
)

// inotifyInstances counts this process's inotify instances.
func inotifyInstances(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		if l, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && l == "anon_inode:inotify" {
			n++
		}
	}
	return n
}

// 130 log streams share one inotify instance (one each used to take the
// machine's whole per-user quota of 128), and each still follows its file.
func TestLogStreamsShareOneInotify(t *testing.T) {
	s, f := newTestServer(t)
	before := inotifyInstances(t)
	pi, _ := f.ProcessInfo(context.Background(), "g:b")
	appendFile(t, pi.StderrLogfile, "start\n")
	addr := strings.TrimPrefix(listenInet(t, s, Credentials{}), "http://")
	type stream struct {
		close func() error
		chunk func() string
	}
	var streams []stream
	for range 130 {
		conn, br, headers := rawLogtail(t, addr, "/logtail/g:b/stderr")
		if !strings.Contains(strings.Join(headers, "\n"), "200 OK") {
			t.Fatalf("stream refused: %v", headers)
		}
		streams = append(streams, stream{conn.Close, func() string { return readChunk(t, br) }})
	}
	defer func() {
		for _, st := range streams {
			st.close()
		}
	}()
	for _, st := range streams {
		if got := st.chunk(); got != "start\n" {
			t.Fatalf("first chunk %q", got)
		}
	}
	if n := inotifyInstances(t) - before; n != 1 {
		t.Fatalf("%d inotify instances for 130 streams, want 1", n)
	}
	appendFile(t, pi.StderrLogfile, "more\n")
	for _, st := range streams {
		if got := st.chunk(); got != "more\n" {
			t.Fatalf("after a write: %q", got)
		}
	}
}

// Log streams are capped like a listener's connections (a stream is a
// hijacked connection no listener counts): one more is refused with 503.
func TestLogStreamsCapped(t *testing.T) {
	s, f := newTestServer(t)
	s.maxConns = 2
	pi, _ := f.ProcessInfo(context.Background(), "g:b")
	appendFile(t, pi.StderrLogfile, "x\n")
	addr := strings.TrimPrefix(listenInet(t, s, Credentials{}), "http://")
	for range 2 {
		conn, _, headers := rawLogtail(t, addr, "/logtail/g:b/stderr")
		defer conn.Close()
		if !strings.Contains(headers[0], "200") {
			t.Fatalf("stream refused under the cap: %v", headers)
		}
	}
	conn, _, headers := rawLogtail(t, addr, "/logtail/g:b/stderr")
	defer conn.Close()
	if !strings.Contains(headers[0], "503") {
		t.Fatalf("a third stream past a cap of 2: %v", headers)
	}
}
