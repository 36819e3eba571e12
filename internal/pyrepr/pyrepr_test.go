package pyrepr

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestStrMatchesCPython(t *testing.T) {
	for _, c := range strCases {
		if got := Str(c.in); got != c.repr {
			t.Errorf("Str(%q) = %s, want %s", c.in, got, c.repr)
		}
		if got := ASCII(c.in); got != c.ascii {
			t.Errorf("ASCII(%q) = %s, want %s", c.in, got, c.ascii)
		}
	}
}

func TestBytesMatchesCPython(t *testing.T) {
	for _, c := range bytesCases {
		if got := Bytes([]byte(c.in)); got != c.repr {
			t.Errorf("Bytes(%q) = %s, want %s", c.in, got, c.repr)
		}
	}
}

func TestAppendKeepsPrefix(t *testing.T) {
	dst := []byte("x=")
	if got := string(AppendStr(dst, "it's")); got != `x="it's"` {
		t.Errorf("AppendStr = %s", got)
	}
	if got := string(AppendASCII(dst, "é")); got != `x='\xe9'` {
		t.Errorf("AppendASCII = %s", got)
	}
	if got := string(AppendBytes(dst, []byte{0xff})); got != `x=b'\xff'` {
		t.Errorf("AppendBytes = %s", got)
	}
}

// checkQuoted fails t unless out is a well-formed repr: valid UTF-8, the
// same quote at both ends, and no raw control character anywhere.
func checkQuoted(t *testing.T, in, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("repr of %q is not valid UTF-8: %q", in, out)
	}
	if len(out) < 2 || (out[0] != '\'' && out[0] != '"') || out[len(out)-1] != out[0] {
		t.Fatalf("repr of %q is not quoted: %q", in, out)
	}
	for _, r := range out {
		if unicode.IsControl(r) {
			t.Fatalf("repr of %q holds raw control %U: %q", in, r, out)
		}
	}
}

// unquote reverses the escapes of a repr body (quotes included): \xNN is
// a byte for bytes and a code point for str, and \udcNN stands for the
// undecodable byte NN (surrogateescape).
func unquote(t *testing.T, out string, bytes bool) string {
	t.Helper()
	body := out[1 : len(out)-1]
	var b strings.Builder
	for i := 0; i < len(body); {
		if body[i] != '\\' {
			b.WriteByte(body[i])
			i++
			continue
		}
		if i+1 >= len(body) {
			t.Fatalf("dangling backslash in %q", out)
		}
		n := 0
		switch k := body[i+1]; k {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case '\\', '\'', '"':
			b.WriteByte(k)
		case 'x':
			n = 2
		case 'u':
			n = 4
		case 'U':
			n = 8
		default:
			t.Fatalf("unknown escape \\%c in %q", k, out)
		}
		if n == 0 {
			i += 2
			continue
		}
		if i+2+n > len(body) {
			t.Fatalf("short escape in %q", out)
		}
		var v rune
		for _, h := range body[i+2 : i+2+n] {
			v = v<<4 | rune(strings.IndexRune(hexDigits, h))
		}
		if (bytes && n == 2) || (v >= 0xdc80 && v <= 0xdcff) {
			b.WriteByte(byte(v))
		} else {
			b.WriteRune(v)
		}
		i += 2 + n
	}
	return b.String()
}

func FuzzStr(f *testing.F) {
	for _, c := range strCases {
		f.Add(c.in)
	}
	f.Add("\x00\x1f\x7f\u0085\u2028\U0010ffff\xff'\"\\")
	f.Fuzz(func(t *testing.T, s string) {
		out := Str(s)
		checkQuoted(t, s, out)
		if back := unquote(t, out, false); back != s {
			t.Fatalf("Str(%q) = %s reads back as %q", s, out, back)
		}
		a := ASCII(s)
		checkQuoted(t, s, a)
		for i := 0; i < len(a); i++ {
			if a[i] >= utf8.RuneSelf {
				t.Fatalf("ASCII(%q) = %q is not ASCII", s, a)
			}
		}
		if back := unquote(t, a, false); back != s {
			t.Fatalf("ASCII(%q) = %s reads back as %q", s, a, back)
		}
		bs := Bytes([]byte(s))
		checkQuoted(t, s, bs[1:])
		if back := unquote(t, bs[1:], true); back != s {
			t.Fatalf("Bytes(%q) = %s reads back as %q", s, bs, back)
		}
	})
}

func BenchmarkStrPlain(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 64)
	for b.Loop() {
		buf = AppendStr(buf[:0], "/usr/local/bin/program-name --flag")
	}
}

func BenchmarkStrUnicode(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 64)
	for b.Loop() {
		buf = AppendStr(buf[:0], "caf\u00e9 \u65e5\u672c \xff\t\u200b")
	}
}
