// Package pyrepr is Python 3's repr() and ascii() of str and bytes, as
// supervisord's messages print them with %r, so drover's messages match
// supervisord's byte for byte.
//
// A Go string is taken as the bytes supervisord would have decoded with
// Python's surrogateescape error handler (how Python turns undecodable
// file names, arguments and environment into str): each byte that is not
// part of valid UTF-8 prints as \udcNN, exactly as CPython prints the
// lone surrogate it decoded it to.
//
// Printable is decided by unicode.IsPrint, which has the same definition as
// CPython's str.isprintable (every category but Cc, Cf, Cs, Co, Cn, Zl, Zp
// and Zs, except the ASCII space is printable). The two differ only where
// their Unicode versions do: a code point assigned in one version and
// unassigned (Cn) in the other prints raw on one side and escaped on the
// other (Go's tables are unicode.Version; CPython's are
// unicodedata.unidata_version).
package pyrepr

import (
	"unicode"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// Str returns Python's repr() of s: quoted, with every character that is
// not printable escaped, so the result is valid UTF-8 and holds no control
// character whatever s holds.
func Str(s string) string {
	return string(AppendStr(make([]byte, 0, len(s)+2), s))
}

// ASCII returns Python's ascii() of s: repr() with every non-ASCII
// character escaped too, so the result is printable ASCII.
func ASCII(s string) string {
	return string(AppendASCII(make([]byte, 0, len(s)+2), s))
}

// Bytes returns Python's repr() of the bytes object p: b'...', with every
// byte outside printable ASCII escaped as \xNN.
func Bytes(p []byte) string {
	return string(AppendBytes(make([]byte, 0, len(p)+3), p))
}

// AppendStr appends Str(s) to dst and returns the extended slice.
func AppendStr(dst []byte, s string) []byte {
	return appendStr(dst, s, false)
}

// AppendASCII appends ASCII(s) to dst and returns the extended slice.
func AppendASCII(dst []byte, s string) []byte {
	return appendStr(dst, s, true)
}

// AppendBytes appends Bytes(p) to dst and returns the extended slice.
func AppendBytes(dst []byte, p []byte) []byte {
	q := quote(string(p))
	dst = append(dst, 'b', q)
	for _, c := range p {
		if c < utf8.RuneSelf {
			dst = appendASCIIByte(dst, c, q)
		} else {
			dst = appendHex(dst, 'x', uint32(c), 2)
		}
	}
	return append(dst, q)
}

// quote is the quote CPython chooses: the single quote unless s holds a
// single quote and no double quote.
func quote(s string) byte {
	single, double := false, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\'':
			single = true
		case '"':
			double = true
		}
	}
	if single && !double {
		return '"'
	}
	return '\''
}

func appendStr(dst []byte, s string, ascii bool) []byte {
	q := quote(s)
	dst = append(dst, q)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			dst = appendASCIIByte(dst, c, q)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = appendHex(dst, 'u', 0xdc00|uint32(c), 4) // surrogateescape
		case !ascii && unicode.IsPrint(r):
			dst = append(dst, s[i:i+size]...)
		case r <= 0xff:
			dst = appendHex(dst, 'x', uint32(r), 2)
		case r <= 0xffff:
			dst = appendHex(dst, 'u', uint32(r), 4)
		default:
			dst = appendHex(dst, 'U', uint32(r), 8)
		}
		i += size
	}
	return append(dst, q)
}

// appendASCIIByte appends one byte below 0x80 as repr() writes it inside
// the quote q (the same for str and bytes).
func appendASCIIByte(dst []byte, c, q byte) []byte {
	switch {
	case c == '\\' || c == q:
		return append(dst, '\\', c)
	case c == '\n':
		return append(dst, '\\', 'n')
	case c == '\r':
		return append(dst, '\\', 'r')
	case c == '\t':
		return append(dst, '\\', 't')
	case c < 0x20 || c == 0x7f:
		return appendHex(dst, 'x', uint32(c), 2)
	}
	return append(dst, c)
}

// appendHex appends the escape \<kind> followed by n lower-case hex digits
// of v.
func appendHex(dst []byte, kind byte, v uint32, n int) []byte {
	dst = append(dst, '\\', kind)
	for shift := 4 * (n - 1); shift >= 0; shift -= 4 {
		dst = append(dst, hexDigits[v>>uint(shift)&0xf])
	}
	return dst
}
