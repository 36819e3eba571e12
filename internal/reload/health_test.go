package reload

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/config"
)

// Check: one try, no retry; 2xx passes, anything else fails saying why;
// {probe} goes to the probe address; tcp needs a listener.
func TestCheck(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	parse := func(s string) config.Ready {
		r, err := config.ParseReady(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if err := Check(ctx, parse("http://"+addr+"/healthz"), ""); err != nil {
		t.Fatal(err)
	}
	if err := Check(ctx, parse("http://{probe}/healthz"), addr); err != nil {
		t.Fatal(err)
	}
	if err := Check(ctx, parse("http://{probe}/healthz"), ""); !errors.Is(err, ErrNoProbeSocket) {
		t.Fatal(err)
	}
	status = http.StatusServiceUnavailable
	if err := Check(ctx, parse("http://"+addr+"/healthz"), ""); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("503: %v", err)
	}
	if err := Check(ctx, parse("tcp://"+addr), ""); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	if err := Check(ctx, parse("tcp://"+closed), ""); err == nil {
		t.Fatal("a closed port passed")
	}
	if err := Check(ctx, parse("uptime:1s"), ""); !errors.Is(err, config.ErrBadReady) {
		t.Fatal(err)
	}
}
