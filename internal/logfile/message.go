package logfile

import (
	"strings"
	"unicode/utf8"

	"github.com/drover-sh/drover/internal/pyrepr"
)

// ChildOutputMessage formats the main-log copy of one read of child output
// that supervisord writes at DEBG (loglevel=debug or lower):
// `'<name>' <channel> output:\n<data>`, where data that is not valid UTF-8
// is shown as `Undecodable: b'...'` (Python's bytes repr).
func ChildOutputMessage(name, channel string, data []byte) string {
	var b strings.Builder
	b.WriteString(pyrepr.Str(name))
	b.WriteString(" ")
	b.WriteString(channel)
	b.WriteString(" output:\n")
	if utf8.Valid(data) {
		b.Write(data)
	} else {
		b.WriteString("Undecodable: ")
		b.WriteString(pyrepr.Bytes(data))
	}
	return b.String()
}
