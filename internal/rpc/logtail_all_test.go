package rpc

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
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

// lineStartAt begins a tail at a line's start: after the end of a cut
// line, exactly at the tail when it starts a line, at the end when the
// tail holds no line start.
func TestLineStartAt(t *testing.T) {
	z := strings.Repeat("z", 63) + "\n"
	for _, c := range []struct{ content, want string }{
		{strings.Repeat("a", 2000) + "\ntail line\n", "tail line\n"},
		{strings.Repeat(z, 32), strings.Repeat(z, 16)},
		{strings.Repeat("a", 3000), ""},
		{strings.Repeat("a", 3000) + "\n", ""},
		{strings.Repeat("a", 3000) + "\nb", "b"},
		{"short\n", "short\n"},
	} {
		path := filepath.Join(t.TempDir(), "x.log")
		appendFile(t, path, c.content)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		size := int64(len(c.content))
		pos := lineStartAt(f, max(size-tailHead, 0), size)
		f.Close()
		if got := c.content[pos:]; got != c.want {
			t.Errorf("content %d bytes: tail %q, want %q", size, got, c.want)
		}
	}
}
