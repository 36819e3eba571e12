package daemon_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/supervisor"
)

// sendProcessStdin to a program that never reads returns a fault once the
// pipe stays full for the bound, instead of holding the caller (and its
// data) for ever; concurrent callers fail at once rather than pile up.
func TestSendStdinToAProgramThatDoesNotRead(t *testing.T) {
	f := start(t, program("deaf", "sleep", "startsecs = 0"))
	f.waitLine(`success: deaf entered RUNNING`)
	data := strings.Repeat("x", 900<<10) // far more than a pipe holds
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t0 := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 30)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = f.client.Call(ctx, "supervisor.sendProcessStdin", "deaf", data)
		}()
	}
	wg.Wait()
	took := time.Since(t0)
	if ctx.Err() != nil {
		t.Fatalf("calls still blocked after %v", took)
	}
	full, busy := 0, 0
	for _, err := range errs {
		var fl *supervisor.Fault
		switch {
		case !errors.As(err, &fl) || fl.Code != supervisor.CodeFailed:
			t.Fatalf("sendProcessStdin = %v, want a FAILED fault", err)
		case strings.Contains(fl.Detail, "stdin is full"):
			full++
		case strings.Contains(fl.Detail, "under way"):
			busy++
		default:
			t.Fatalf("fault %v", fl)
		}
	}
	if full < 1 || full+busy != len(errs) {
		t.Fatalf("%d full, %d busy of %d", full, busy, len(errs))
	}
	if in := f.info("deaf"); in["statename"] != "RUNNING" {
		t.Fatalf("program after the writes: %v", in)
	}
	t.Logf("30 writes of 900 KiB answered in %v: %d full, %d busy", took.Round(time.Millisecond), full, busy)
}
