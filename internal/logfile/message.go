package logfile

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// ChildOutputMessage formats the main-log copy of one read of child output
// that supervisord writes at DEBG (loglevel=debug or lower):
// `'<name>' <channel> output:\n<data>`, where data that is not valid UTF-8
// is shown as `Undecodable: b'...'` (Python's bytes repr).
func ChildOutputMessage(name, channel string, data []byte) string {
	var b strings.Builder
	b.WriteString(pyStrRepr(name))
	b.WriteString(" ")
	b.WriteString(channel)
	b.WriteString(" output:\n")
	if utf8.Valid(data) {
		b.Write(data)
	} else {
		b.WriteString("Undecodable: ")
		b.WriteString(pyBytesRepr(data))
	}
	return b.String()
}

// pyStrRepr approximates Python's repr of a str: single quotes unless the
// text contains one and no double quote.
func pyStrRepr(s string) string {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == '\\' || r == rune(q):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x`)
			b.WriteString(hex2(byte(r)))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// pyBytesRepr is Python's repr of a bytes object.
func pyBytesRepr(p []byte) string {
	q := byte('\'')
	if strings.IndexByte(string(p), '\'') >= 0 && strings.IndexByte(string(p), '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	b.WriteString("b")
	b.WriteByte(q)
	for _, c := range p {
		switch {
		case c == '\\' || c == q:
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c >= 0x7f:
			b.WriteString(`\x`)
			b.WriteString(hex2(c))
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(q)
	return b.String()
}

func hex2(c byte) string {
	s := strconv.FormatUint(uint64(c), 16)
	if len(s) == 1 {
		return "0" + s
	}
	return s
}
