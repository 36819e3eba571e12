package rpc

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
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
	f := &fakeBackend{state: StateRunning, procs: map[string]*ProcessInfo{}}
	b := bigBackend{fakeBackend: f}
	for i := range n {
		name := fmt.Sprintf("p%03d", i)
		b.infos = append(b.infos, ProcessInfo{Name: name, Group: name, State: ProcessRunning, PID: 10000 + i,
			Start:         fakeStart,
			StdoutLogfile: "/var/log/drover/" + name + "-stdout---supervisor-259cujos.log",
			StderrLogfile: "/var/log/drover/" + name + "-stderr---supervisor-q44k9dvm.log"})
	}
	return b
}

func (b bigBackend) AllProcessInfo(context.Context) ([]ProcessInfo, error) {
	return slices.Clone(b.infos), nil
}

// discardResponse is an http.ResponseWriter that keeps only the size.
type discardResponse struct {
	h    http.Header
	code int
	n    int
}

func (d *discardResponse) Header() http.Header  { return d.h }
func (d *discardResponse) WriteHeader(code int) { d.code = code }
func (d *discardResponse) Write(p []byte) (int, error) {
	d.n += len(p)
	return len(p), nil
}

// BenchmarkServeGetAllProcessInfo500 is the daemon's side of `status` on
// 500 programs: decode the call, snapshot, encode the answer (about
// 600 kB of XML), hand it to the connection.
//
//	go test -run '^$' -bench ServeGetAllProcessInfo500 -benchmem ./internal/rpc/
func BenchmarkServeGetAllProcessInfo500(b *testing.B) {
	for _, method := range []string{"supervisor.getAllProcessInfo", "drover.getAllProcessInfo", "drover.getAllProcessStatus"} {
		b.Run(method, func(b *testing.B) {
			s, err := New(Options{Backend: newBigBackend(b, 500), Now: func() time.Time { return fakeNow }})
			if err != nil {
				b.Fatal(err)
			}
			h := s.Handler(Credentials{}, false)
			body := "<?xml version='1.0'?>\n<methodCall>\n<methodName>" + method + "</methodName>\n<params>\n</params>\n</methodCall>\n"
			b.ReportAllocs()
			var size int
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodPost, "/RPC2", strings.NewReader(body))
				req.RequestURI = "/RPC2"
				w := &discardResponse{h: http.Header{}}
				h.ServeHTTP(w, req)
				if w.code != 0 && w.code != http.StatusOK {
					b.Fatalf("status %d", w.code)
				}
				size = w.n
			}
			b.SetBytes(int64(size))
		})
	}
}
