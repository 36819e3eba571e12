package rpc

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

// lineCutter sends only whole prefixed lines wherever the chunks split
// them; an over-long line goes in pieces, each ended.
func TestLineCutterSplitEverywhere(t *testing.T) {
	in := "one\ntwo two\n\nthree\nfour"
	for i := 0; i <= len(in); i++ {
		var b bytes.Buffer
		out := &allWriter{bw: bufio.NewWriter(&b)}
		lc := &lineCutter{prefix: []byte("web | "), out: out}
		lc.write([]byte(in[:i]))
		lc.write([]byte(in[i:]))
		if got := b.String(); got != "web | one\nweb | two two\nweb | \nweb | three\n" {
			t.Fatalf("split at %d: %q", i, got)
		}
	}
	var b bytes.Buffer
	lc := &lineCutter{prefix: []byte("x | "), out: &allWriter{bw: bufio.NewWriter(&b)}}
	lc.write([]byte(strings.Repeat("y", maxHeldLine)))
	lc.write([]byte("yy"))
	if got := b.String(); got != "x | "+strings.Repeat("y", maxHeldLine+2)+"\n" {
		t.Fatalf("long line: %d bytes", len(got))
	}
}
