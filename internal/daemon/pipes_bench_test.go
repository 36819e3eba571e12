package daemon

import (
	"io"
	"log/slog"
	"testing"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/logfile"
	"github.com/drover-sh/drover/internal/supervisor"
)

// BenchmarkSpawnPipes is the pipe work of one spawn without the fork: the
// three pipes made, the child's ends closed (as after the exec), the read
// ends handed to the log pump and the parent's stdin end kept, then all of
// it released again.
func BenchmarkSpawnPipes(b *testing.B) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pump, err := logfile.NewPump(log)
	if err != nil {
		b.Fatal(err)
	}
	defer pump.Close()
	h := newOSHost(pump, log).forSupervisor(&config.Config{}, nil)
	p := &config.Process{Name: "bench"}
	for b.Loop() {
		c, err := h.openPipes(p)
		if err != nil {
			b.Fatal(err)
		}
		c.closeChildEnds()
		h.pumpOutput(p, supervisor.Logs{}, 0, c, nil)
		// The child's ends are closed, so the pump sees EOF and closes the
		// read ends itself; only stdin is the parent's to close.
		c.stdin.Close()
	}
}
