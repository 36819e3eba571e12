package logfile

import (
	"bytes"
	"io"
	"testing"
)

// benchConsume runs one 128 KiB read of 100-byte lines through a pipe's
// processing per iteration (no I/O: the sinks discard).
func benchConsume(b *testing.B, sink Sink) {
	read := bytes.Repeat(append(bytes.Repeat([]byte("x"), 99), '\n'), readBufSize/100)
	ps := &pipeState{}
	ps.sink = &sink
	b.SetBytes(int64(len(read)))
	b.ReportAllocs()
	for b.Loop() {
		ps.consume(read, false)
	}
}

// BenchmarkConsumeLines is the path of every program without the console
// option (it must not get slower with the option added).
func BenchmarkConsumeLines(b *testing.B) {
	benchConsume(b, Sink{Log: io.Discard})
}
