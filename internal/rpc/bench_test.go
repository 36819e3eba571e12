package rpc

import (
	"github.com/drover-sh/drover/internal/supervisor"

	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// bigBackend is fakeBackend with n RUNNING programs, as `status` on a
// large fleet sees them.
type bigBackend struct {
	*fakeBackend
	infos []ProcessInfo
}

func newBigBackend(t testing.TB, n int) bigBackend {
	f := &fakeBackend{state: supervisor.StateRunning, procs: map[string]*ProcessInfo{}}
	b := bigBackend{fakeBackend: f}
	for i := range n {
		name := fmt.Sprintf("p%03d", i)
		b.infos = append(b.infos, ProcessInfo{Name: name, Group: name, State: supervisor.Running, PID: 10000 + i,
			Start:         fakeStart,
			StdoutLogfile: "/var/log/drover/" + name + "-stdout---supervisor-259cujos.log",
			StderrLogfile: "/var/log/drover/" + name + "-stderr---supervisor-q44k9dvm.log"})
	}
	return b
}

func (b bigBackend) AllProcessInfo(context.Context) ([]ProcessInfo, error) {
	return slices.Clone(b.infos), nil
}

// BenchmarkServeGetAllProcessInfo500 is the daemon's side of `status` on
// 500 programs: read the call, snapshot, encode the answer (about 600 kB
// of XML) and send it, over a kept-alive unix socket connection as the
// CLI makes it (the client reads the answer into its buffer unparsed).
//
//	go test -run '^$' -bench ServeGetAllProcessInfo500 -benchmem ./internal/rpc/
func BenchmarkServeGetAllProcessInfo500(b *testing.B) {
	for _, method := range []string{"supervisor.getAllProcessInfo", "drover.getAllProcessInfo", "drover.getAllProcessStatus"} {
		b.Run(method, func(b *testing.B) {
			s, err := New(Options{Backend: newBigBackend(b, 500), Now: func() time.Time { return fakeNow }})
			if err != nil {
				b.Fatal(err)
			}
			sock := filepath.Join(b.TempDir(), "s.sock")
			if err := s.Listen([]ListenerConfig{{Section: "unix_http_server", Unix: true, File: sock, UID: -1, GID: -1}}); err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			c, err := NewClientAuth("unix://"+sock, ClientAuth{})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			body := []byte("<?xml version='1.0'?>\n<methodCall>\n<methodName>" + method + "</methodName>\n<params>\n</params>\n</methodCall>\n")
			b.ReportAllocs()
			var size int
			for b.Loop() {
				status, _, doc, err := c.post(context.Background(), body)
				if err != nil || status != 200 {
					b.Fatalf("status %d %v", status, err)
				}
				size = len(doc)
			}
			b.SetBytes(int64(size))
		})
	}
}
