package xmlrpc

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"
)

// Struct is an XML-RPC struct whose members are written in the given
// order (a map[string]any is written sorted by key).
type Struct []Member

// Member is one named value of a Struct.
type Member struct {
	Name  string
	Value any
}

// Get returns the value of the first member called name.
func (s Struct) Get(name string) (any, bool) {
	for _, m := range s {
		if m.Name == name {
			return m.Value, true
		}
	}
	return nil, false
}

// Int range of XML-RPC <int>: integers outside it are clamped, as
// supervisord's capped_int does for timestamps.
const (
	MaxInt = math.MaxInt32
	MinInt = math.MinInt32
)

// EncodeResponse writes a <methodResponse> carrying v. Supported types:
// int, int32, int64, uint32, bool, string, float64, []byte (base64),
// time.Time, []any, []string, []int, map[string]any, Struct and
// []Struct. Any other type (including nil) is an error and nothing
// useful should be sent.
func EncodeResponse(w io.Writer, v any) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n")
	if err := writeValue(bw, v, 0); err != nil {
		return err
	}
	bw.WriteString("\n</param>\n</params>\n</methodResponse>\n")
	return bw.Flush()
}

// EncodeFault writes a <methodResponse> carrying a fault.
func EncodeFault(w io.Writer, code int, msg string) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("<?xml version='1.0'?>\n<methodResponse>\n<fault>\n")
	err := writeValue(bw, Struct{{"faultCode", code}, {"faultString", msg}}, 0)
	if err != nil {
		return err
	}
	bw.WriteString("\n</fault>\n</methodResponse>\n")
	return bw.Flush()
}

// EncodeRequest writes a <methodCall>.
func EncodeRequest(w io.Writer, method string, params ...any) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("<?xml version='1.0'?>\n<methodCall>\n<methodName>")
	writeText(bw, method)
	bw.WriteString("</methodName>\n<params>\n")
	for _, p := range params {
		bw.WriteString("<param>\n")
		if err := writeValue(bw, p, 0); err != nil {
			return err
		}
		bw.WriteString("\n</param>\n")
	}
	bw.WriteString("</params>\n</methodCall>\n")
	return bw.Flush()
}

func clampInt(n int64) int64 {
	if n > MaxInt {
		return MaxInt
	}
	if n < MinInt {
		return MinInt
	}
	return n
}

func writeInt(w *bufio.Writer, n int64) {
	w.WriteString("<value><int>")
	w.WriteString(strconv.FormatInt(clampInt(n), 10))
	w.WriteString("</int></value>")
}

func writeValue(w *bufio.Writer, v any, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("xmlrpc: values nested deeper than %d", maxDepth)
	}
	switch v := v.(type) {
	case int:
		writeInt(w, int64(v))
	case int32:
		writeInt(w, int64(v))
	case int64:
		writeInt(w, v)
	case uint32:
		writeInt(w, int64(v))
	case bool:
		if v {
			w.WriteString("<value><boolean>1</boolean></value>")
		} else {
			w.WriteString("<value><boolean>0</boolean></value>")
		}
	case string:
		w.WriteString("<value><string>")
		writeText(w, v)
		w.WriteString("</string></value>")
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("xmlrpc: cannot encode double %v", v)
		}
		w.WriteString("<value><double>")
		w.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
		w.WriteString("</double></value>")
	case []byte:
		w.WriteString("<value><base64>")
		w.WriteString(base64.StdEncoding.EncodeToString(v))
		w.WriteString("</base64></value>")
	case time.Time:
		w.WriteString("<value><dateTime.iso8601>")
		w.WriteString(v.UTC().Format(dateTimeLayout))
		w.WriteString("</dateTime.iso8601></value>")
	case []any:
		return writeArray(w, len(v), func(i int) any { return v[i] }, depth)
	case []string:
		return writeArray(w, len(v), func(i int) any { return v[i] }, depth)
	case []int:
		return writeArray(w, len(v), func(i int) any { return v[i] }, depth)
	case []Struct:
		return writeArray(w, len(v), func(i int) any { return v[i] }, depth)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		s := make(Struct, len(keys))
		for i, k := range keys {
			s[i] = Member{k, v[k]}
		}
		return writeStruct(w, s, depth)
	case Struct:
		return writeStruct(w, v, depth)
	default:
		return fmt.Errorf("xmlrpc: cannot encode %T", v)
	}
	return nil
}

func writeArray(w *bufio.Writer, n int, at func(int) any, depth int) error {
	w.WriteString("<value><array><data>\n")
	for i := 0; i < n; i++ {
		if err := writeValue(w, at(i), depth+1); err != nil {
			return err
		}
		w.WriteByte('\n')
	}
	w.WriteString("</data></array></value>")
	return nil
}

func writeStruct(w *bufio.Writer, s Struct, depth int) error {
	w.WriteString("<value><struct>\n")
	for _, m := range s {
		w.WriteString("<member>\n<name>")
		writeText(w, m.Name)
		w.WriteString("</name>\n")
		if err := writeValue(w, m.Value, depth+1); err != nil {
			return err
		}
		w.WriteString("\n</member>\n")
	}
	w.WriteString("</struct></value>")
	return nil
}

// Sanitize returns s as the text a client will read after parsing the
// XML this package writes:
//   - each byte that is not part of valid UTF-8 becomes U+FFFD;
//   - C0 control characters other than TAB, LF and CR become the visible
//     Unicode "control pictures" U+2400+c (NUL → ␀, ESC → ␛);
//   - U+FFFE and U+FFFF (not XML characters) become U+FFFD.
//
// Everything else, CR included (written as &#13; so parsers keep it), is
// preserved. XML 1.0 cannot carry the replaced characters at all, not
// even as character references, so this is the only well-formed choice.
func Sanitize(s string) string {
	if clean(s) {
		return s
	}
	var b []byte
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if rr, bad := replacement(r, n); bad {
			if b == nil {
				b = append(make([]byte, 0, len(s)+8), s[:i]...)
			}
			b = utf8.AppendRune(b, rr)
		} else if b != nil {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	if b == nil {
		return s
	}
	return string(b)
}

// clean reports whether s is printable ASCII plus TAB, LF, CR, the
// common case that needs no copy.
func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c >= 0x80 {
			return false
		}
	}
	return true
}

// replacement reports whether the rune r (n bytes long) cannot appear in
// XML 1.0 and, if so, what to write instead.
func replacement(r rune, n int) (rune, bool) {
	switch {
	case r == utf8.RuneError && n == 1:
		return utf8.RuneError, true
	case r < 0x20 && r != '\t' && r != '\n' && r != '\r':
		return 0x2400 + r, true
	case r == 0xFFFE || r == 0xFFFF:
		return utf8.RuneError, true
	}
	return r, false
}

// writeText writes s as XML character data, sanitized as by Sanitize.
// Runs of ordinary characters are written in one piece.
func writeText(w *bufio.Writer, s string) {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x80 && c != '&' && c != '<' && c != '>' {
			i++
			continue
		}
		var esc string
		n := 1
		switch c {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\r':
			esc = "&#13;"
		case '\t', '\n':
			i++
			continue
		default:
			var r rune
			r, n = utf8.DecodeRuneInString(s[i:])
			rr, bad := replacement(r, n)
			if !bad {
				i += n
				continue
			}
			esc = string(rr)
		}
		w.WriteString(s[start:i])
		w.WriteString(esc)
		i += n
		start = i
	}
	w.WriteString(s[start:])
}
