package logfile

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The test binary re-runs itself as the child process that produces output
// (the os/exec helper-process pattern): LOGFILE_HELPER selects the mode.
const helperEnv = "LOGFILE_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helperMain(mode, os.Args[len(os.Args)-2:]))
	}
	os.Exit(m.Run())
}

// helperMain runs a producer on fd 1. Modes:
//
//	numbers N W: N lines "%0Wd\n", one write(2) each
//	lines N S:   N lines of S bytes (S-1 'x' and '\n'), one write(2) each
//	bulk N S:    N writes of S bytes
//	chunks N W:  N lines "%0Wd\n" as one stream, in writes of 64,000 bytes
//	             (whole lines for W=7, as a program flushing its buffer)
//	hold _ _:    write "ready\n", then block until stdin closes
func helperMain(mode string, args []string) int {
	n, _ := strconv.Atoi(args[0])
	w, _ := strconv.Atoi(args[1])
	switch mode {
	case "numbers":
		b := make([]byte, 0, 32)
		for i := range n {
			b = strconv.AppendInt(b[:0], int64(i), 10)
			for len(b) < w {
				b = append([]byte{'0'}, b...)
			}
			b = append(b, '\n')
			if !writeAll(b) {
				return 1
			}
		}
	case "lines", "bulk":
		b := make([]byte, w)
		for i := range b {
			b[i] = 'x'
		}
		b[len(b)-1] = '\n'
		for range n {
			if !writeAll(b) {
				return 1
			}
		}
	case "chunks":
		var all []byte
		for i := range n {
			all = fmt.Appendf(all, "%0*d\n", w, i)
		}
		for len(all) > 0 {
			k := min(len(all), 64000)
			if !writeAll(all[:k]) {
				return 1
			}
			all = all[k:]
		}
	case "hold":
		writeAll([]byte("ready\n"))
		_, _ = io.Copy(io.Discard, os.Stdin)
	default:
		fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
		return 2
	}
	return 0
}

func writeAll(b []byte) bool {
	for len(b) > 0 {
		n, err := unix.Write(1, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false
		}
		b = b[n:]
	}
	return true
}

// startHelper runs the test binary as a producer whose stdout is a fresh
// pipe; it returns the pipe's read end (for Pump.Add) and the command.
// The parent's copy of the write end is closed, so EOF comes when the
// child exits.
func startHelper(t testing.TB, mode string, a, b int) (*os.File, *exec.Cmd) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$", strconv.Itoa(a), strconv.Itoa(b))
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.Stdout = w
	cmd.Stderr = os.Stderr
	// stdin stays open until the test ends, so "hold" keeps running.
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = inR
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	_ = inR.Close()
	t.Cleanup(func() { _ = inW.Close(); _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return r, cmd
}

// newTestPump returns a Pump closed at the end of the test.
func newTestPump(t testing.TB, logger *slog.Logger) *Pump {
	t.Helper()
	p, err := NewPump(logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// waitClosed waits for a channel closed by OnClosed, with a deadline.
func waitClosed(t testing.TB, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatal("pipe not closed within 30s")
	}
}

// testLogger returns a logger writing into the test log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
