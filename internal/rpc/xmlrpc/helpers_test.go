package xmlrpc

import (
	"io"
	"strings"
	"unicode/utf8"
)

// The tests' io.Writer and io.Reader forms of the Append* and Parse*
// functions the daemon and client use.

func encodeResponse(w io.Writer, v any) error {
	b, err := AppendResponse(nil, v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func encodeFault(w io.Writer, code int, msg string) error {
	_, err := w.Write(AppendFault(nil, code, msg))
	return err
}

func encodeRequest(w io.Writer, method string, params ...any) error {
	b, err := AppendRequest(nil, method, params...)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func decodeResponseFrom(r io.Reader) (any, error) {
	var b strings.Builder
	if _, err := io.Copy(&b, r); err != nil {
		return nil, err
	}
	return ParseResponse(b.String())
}

// sanitize returns s as the text a client will read after parsing the
// XML this package writes:
//   - each byte that is not part of valid UTF-8 becomes U+FFFD;
//   - C0 control characters other than TAB, LF and CR become the visible
//     Unicode "control pictures" U+2400+c (NUL → ␀, ESC → ␛);
//   - U+FFFE and U+FFFF (not XML characters) become U+FFFD.
//
// Everything else, CR included (written as &#13; so parsers keep it), is
// preserved. XML 1.0 cannot carry the replaced characters at all, not
// even as character references, so this is the only well-formed choice.
func sanitize(s string) string {
	if cleanText(s) {
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

// cleanText reports whether s is printable ASCII plus TAB, LF, CR, the
// common case that needs no copy.
func cleanText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c >= 0x80 {
			return false
		}
	}
	return true
}
