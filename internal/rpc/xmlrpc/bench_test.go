package xmlrpc

import (
	"bytes"
	"strings"
	"testing"
)

// BenchmarkEncodeProcessInfo encodes a getAllProcessInfo-sized answer
// (100 structs of 14 members) as the server does: appended to a buffer
// that already has the size of the last answer.
func BenchmarkEncodeProcessInfo(b *testing.B) {
	info := make([]Struct, 100)
	for i := range info {
		info[i] = Struct{{"name", "web"}, {"group", "web"}, {"start", 1700000000}, {"stop", 0},
			{"now", 1700000100}, {"state", 20}, {"statename", "RUNNING"}, {"spawnerr", ""},
			{"exitstatus", 0}, {"logfile", "/var/log/web.log"}, {"stdout_logfile", "/var/log/web.log"},
			{"stderr_logfile", ""}, {"pid", 1234}, {"description", "pid 1234, uptime 0:01:40"}}
	}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendResponse(buf[:0], info); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkDecodeRequest decodes a typical startProcess call.
func BenchmarkDecodeRequest(b *testing.B) {
	var buf bytes.Buffer
	if err := encodeRequest(&buf, "supervisor.startProcess", "web:web_00", true); err != nil {
		b.Fatal(err)
	}
	req := buf.String()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRequest(strings.NewReader(req)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSanitizeLog sanitizes 64 KiB of log text with ANSI colours.
func BenchmarkSanitizeLog(b *testing.B) {
	s := strings.Repeat("2026-01-02 \x1b[32mINFO\x1b[0m request handled in 3ms\n", 1400)
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		_ = sanitize(s)
	}
}
