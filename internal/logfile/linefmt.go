package logfile

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"time"
	"unicode/utf8"
)

// LineFormat makes the pump write a Sink's Log output line by line: with a
// time prefix, or as JSON lines. A Sink without one gets the bytes as read
// (no copy).
type LineFormat struct {
	// JSON writes {"time":…,"process":…,"stream":…,"message":…} per line;
	// otherwise each line starts with the time and a space.
	JSON bool
	// Layout is the Go time layout of the time; Unix writes seconds since
	// the epoch to the millisecond instead (a number in JSON).
	Layout string
	Unix   bool
	// Stream is the "stream" of JSON objects (stdout, stderr).
	Stream string
}

// Bounds of the formatting state.
const (
	// maxPartial is the longest line held back for JSON until its end
	// comes: a longer one is written in pieces marked "partial":true.
	maxPartial = 64 << 10
	// keepOut is the largest formatting buffer the Pump keeps between
	// reads.
	keepOut = 1 << 20
)

// fmtState is a pipe's formatting state: whether the last text written
// ended mid-line (its continuation gets no time prefix), and for JSON the
// start of a line whose end has not come yet.
type fmtState struct {
	midLine bool
	partial []byte
	head    []byte // `,"process":…,"stream":…,"message":"`, made once
}

// appendTime appends t in f's format.
func (f *LineFormat) appendTime(b []byte, t time.Time) []byte {
	if f.Unix {
		ms := t.UnixMilli()
		b = strconv.AppendInt(b, ms/1000, 10)
		b = append(b, '.')
		frac := ms % 1000
		if frac < 100 {
			b = append(b, '0')
		}
		if frac < 10 {
			b = append(b, '0')
		}
		return strconv.AppendInt(b, frac, 10)
	}
	return t.AppendFormat(b, f.Layout)
}

// writeFormatted writes seg to the Sink's Log formatted by f, in one
// Write (lines stay whole for rotation). out is the Pump's shared buffer.
func (p *pipeState) writeFormatted(seg []byte, f *LineFormat, out *[]byte) {
	buf := (*out)[:0]
	now := time.Now()
	if f.JSON {
		var pre [160]byte
		buf = p.jsonLines(buf, seg, p.jsonPrefix(pre[:0], f, now))
	} else {
		var tsBuf [64]byte
		ts := append(f.appendTime(tsBuf[:0], now), ' ')
		for len(seg) > 0 {
			if !p.fmt.midLine {
				buf = append(buf, ts...)
			}
			i := bytes.IndexByte(seg, '\n')
			if i < 0 {
				buf = append(buf, seg...)
				p.fmt.midLine = true
				break
			}
			buf = append(buf, seg[:i+1]...)
			p.fmt.midLine = false
			seg = seg[i+1:]
		}
	}
	if len(buf) > 0 {
		_, _ = p.sink.Log.Write(buf)
	}
	if cap(buf) > keepOut {
		buf = nil
	}
	*out = buf[:0]
}

// jsonLines appends one object per complete line of seg, each starting
// with pre (jsonPrefix); a line without its end yet is held in partial
// (up to maxPartial).
func (p *pipeState) jsonLines(buf, seg, pre []byte) []byte {
	st := &p.fmt
	for len(seg) > 0 {
		i := bytes.IndexByte(seg, '\n')
		if i < 0 {
			if len(st.partial)+len(seg) > maxPartial {
				buf = jsonLine(buf, pre, append(st.partial, seg...), true)
				st.dropPartial()
			} else {
				st.partial = append(st.partial, seg...)
			}
			return buf
		}
		line := seg[:i]
		if len(st.partial) > 0 {
			st.partial = append(st.partial, line...)
			line = st.partial
		}
		buf = jsonLine(buf, pre, line, false)
		st.dropPartial()
		seg = seg[i+1:]
	}
	return buf
}

func (st *fmtState) dropPartial() {
	if cap(st.partial) > 4<<10 {
		st.partial = nil
		return
	}
	st.partial = st.partial[:0]
}

// flushPartial writes the held start of a line at EOF, marked partial.
func (p *pipeState) flushPartial(f *LineFormat, out *[]byte) {
	if len(p.fmt.partial) == 0 {
		return
	}
	var pre [160]byte
	buf := jsonLine((*out)[:0], p.jsonPrefix(pre[:0], f, time.Now()), p.fmt.partial, true)
	p.fmt.partial = nil
	_, _ = p.sink.Log.Write(buf)
	*out = buf[:0]
}

// jsonPrefix appends the start of every object written at now: time,
// process, stream and the message key.
func (p *pipeState) jsonPrefix(b []byte, f *LineFormat, now time.Time) []byte {
	if p.fmt.head == nil {
		h := append([]byte(nil), `,"process":`...)
		h = appendJSONString(h, []byte(p.sink.Name))
		h = append(h, `,"stream":`...)
		h = appendJSONString(h, []byte(f.Stream))
		p.fmt.head = append(h, `,"message":`...)
	}
	b = append(b, `{"time":`...)
	if f.Unix {
		b = f.appendTime(b, now)
	} else {
		b = append(b, '"')
		b = f.appendTime(b, now)
		b = append(b, '"')
	}
	return append(b, p.fmt.head...)
}

// jsonLine appends one object for line (without its '\n'; a '\r' before
// it is dropped).
func jsonLine(buf, pre, line []byte, partial bool) []byte {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	buf = append(buf, pre...)
	buf = appendJSONString(buf, line)
	if partial {
		buf = append(buf, `,"partial":true`...)
	}
	return append(buf, '}', '\n')
}

const hexDigits = "0123456789abcdef"

// needsEscape8 reports whether one of the 8 bytes in x is below 0x20, a
// quote, a backslash or not ASCII (a false positive only next to a true
// one: the byte loop then looks at each).
func needsEscape8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	hasZero := func(v uint64) uint64 { return (v - ones) & ^v }
	return ((x-0x20*ones)&^x|hasZero(x^('"'*ones))|hasZero(x^('\\'*ones))|x)&highs != 0
}

// appendJSONString appends s as a JSON string: quote, backslash and
// control characters escaped, U+2028/U+2029 escaped (JavaScript line
// ends), and each byte that is not valid UTF-8 replaced by U+FFFD, as
// encoding/json does.
func appendJSONString(b, s []byte) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight plain bytes at a time: most of a log line needs no escape.
		for i+8 <= len(s) && !needsEscape8(binary.LittleEndian.Uint64(s[i:])) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
