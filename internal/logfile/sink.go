package logfile

import (
	"bytes"
	"io"
)

// Capture-mode tokens (supervisord's ProcessCommunicationEvent).
var (
	beginToken = []byte("<!--XSUPERVISOR:BEGIN-->")
	endToken   = []byte("<!--XSUPERVISOR:END-->")
)

// maxCarry is the most bytes held back between reads: a token prefix.
const maxCarry = 23

// Sink says what becomes of the output read from one pipe. Its callbacks
// run on the Pump's goroutine, one at a time: they must not block (send to a
// buffered channel, or append to a queue the owner drains) and must not call
// the Pump synchronously except Remove, which does not wait.
type Sink struct {
	// Name is the process name, used as the syslog line prefix.
	Name string
	// Log receives the output, one Write per read (or per segment around
	// capture tokens); normally a *Writer. nil, or a nil *Writer, keeps no
	// file (NONE).
	Log io.Writer
	// Syslog, when set, receives "<Name> <line>" for each line of each
	// read, one Write per line, as supervisord's *_syslog does.
	Syslog io.Writer
	// Console, when set, receives each complete line of output (outside
	// captures, after strip_ansi) behind ConsolePrefix, one Write per read
	// (a *Console's Stdout or Stderr keeps lines of different programs
	// apart). An unfinished line is held until its end arrives (at most
	// maxConsoleLine bytes), and ended with a newline at EOF.
	Console       io.Writer
	ConsolePrefix string
	// StripANSI removes ANSI escape sequences (ESC '[' up to a terminator
	// letter) first, also when a sequence is split between reads.
	StripANSI bool
	// CaptureMaxBytes > 0 turns on capture mode: output between
	// <!--XSUPERVISOR:BEGIN--> and <!--XSUPERVISOR:END--> goes to an
	// in-memory buffer keeping the last CaptureMaxBytes bytes instead of Log
	// and Syslog, and is handed to OnCapture at the end token. Tokens split
	// between reads are recognised.
	CaptureMaxBytes int
	// Format, when set, makes Log get each line formatted (a time
	// prefix, or JSON lines; linefmt.go) instead of the bytes as read.
	// Syslog, OnLog and capture see the bytes as read.
	Format *LineFormat
	// OnLog, when set, sees every chunk of output after strip_ansi, in
	// capture mode too (supervisord's PROCESS_LOG_* events and the debug
	// copy into the main log). One call per read, not per line. The slice
	// is only valid during the call.
	OnLog func(data []byte)
	// OnCapture, when set, receives the captured bytes at each end token
	// (PROCESS_COMMUNICATION_*). The slice belongs to the callee.
	OnCapture func(data []byte)
	// OnClosed, when set, is called once when the Pump stops reading the
	// pipe (EOF, read error, Remove or Close), after the last output was
	// delivered and the pipe's fd was closed.
	OnClosed func()
}

// needsBytes reports whether the output must pass through user space:
// anything that transforms or inspects it, or a Log that is not a plain
// *Writer. Otherwise the Pump moves it with splice(2) (splice.go). A new
// Sink feature that sees or changes the bytes must be added here.
func (s *Sink) needsBytes() bool {
	w, ok := s.Log.(*Writer)
	return !ok || w == nil || s.Syslog != nil || s.StripANSI ||
		s.CaptureMaxBytes > 0 || s.OnLog != nil || s.Console != nil || s.Format != nil
}

// ansiState carries an escape sequence across reads.
type ansiState uint8

const (
	ansiNormal ansiState = iota
	ansiInSeq            // after ESC '[', until a terminator letter
)

// pipeState is the per-pipe processing state kept between reads. It holds
// no buffer while idle unless a capture is open.
type pipeState struct {
	sink      *Sink
	carry     [maxCarry]byte // raw bytes held back for the next read
	carryLen  int
	capturing bool
	capBuf    []byte
	ansi      ansiState
	conLine   []byte // Console: the unfinished line, nil when none
	// fmt is Format's state; out the Pump's shared formatting buffer
	// (nil outside a Pump: a buffer of the pipe's own).
	fmt fmtState
	out *[]byte
}

// consume processes data (the carry, already copied in front, plus what was
// just read). At eof nothing is held back.
func (p *pipeState) consume(data []byte, eof bool) {
	s := p.sink
	p.carryLen = 0
	for {
		hold := 0
		if s.CaptureMaxBytes > 0 {
			tok := beginToken
			if p.capturing {
				tok = endToken
			}
			if i := bytes.Index(data, tok); i >= 0 {
				p.emit(data[:i])
				data = data[i+len(tok):]
				p.toggle()
				continue
			}
			if !eof {
				hold = prefixAtEnd(data, tok)
			}
		}
		// A trailing ESC may start a sequence finished by the next read.
		if hold == 0 && !eof && s.StripANSI && len(data) > 0 && data[len(data)-1] == 0x1b {
			hold = 1
		}
		p.emit(data[:len(data)-hold])
		p.carryLen = copy(p.carry[:], data[len(data)-hold:])
		if eof && s.Console != nil {
			p.flushConsole()
		}
		if eof && s.Format != nil && s.Format.JSON && s.Log != nil {
			p.flushPartial(s.Format, p.outBuf())
		}
		return
	}
}

// outBuf is the buffer formatted output is built in.
func (p *pipeState) outBuf() *[]byte {
	if p.out == nil {
		p.out = new([]byte)
	}
	return p.out
}

// prefixAtEnd returns the length of the longest proper prefix of tok that
// ends data.
func prefixAtEnd(data, tok []byte) int {
	for k := min(len(tok)-1, len(data)); k > 0; k-- {
		if bytes.Equal(data[len(data)-k:], tok[:k]) {
			return k
		}
	}
	return 0
}

func (p *pipeState) toggle() {
	if !p.capturing {
		p.capturing = true
		return
	}
	data := p.capBuf
	p.capBuf = nil
	p.capturing = false
	if p.sink.OnCapture != nil {
		if data == nil {
			data = []byte{}
		}
		p.sink.OnCapture(data)
	}
}

// emit delivers one segment that is entirely inside or outside a capture.
func (p *pipeState) emit(seg []byte) {
	s := p.sink
	if s.StripANSI {
		seg = stripANSI(seg, &p.ansi)
	}
	if len(seg) == 0 {
		return
	}
	if p.capturing {
		p.captureAppend(seg)
	} else {
		switch {
		case s.Log == nil:
		case s.Format != nil:
			p.writeFormatted(seg, s.Format, p.outBuf())
		default:
			_, _ = s.Log.Write(seg)
		}
		if s.Syslog != nil {
			writeSyslogLines(s.Syslog, s.Name, seg)
		}
		if s.Console != nil {
			p.toConsole(seg)
		}
	}
	if s.OnLog != nil {
		s.OnLog(seg)
	}
}

func (p *pipeState) captureAppend(seg []byte) {
	limit := p.sink.CaptureMaxBytes
	if len(seg) >= limit {
		p.capBuf = append(p.capBuf[:0], seg[len(seg)-limit:]...)
		return
	}
	if over := len(p.capBuf) + len(seg) - limit; over > 0 {
		p.capBuf = p.capBuf[:copy(p.capBuf, p.capBuf[over:])]
	}
	p.capBuf = append(p.capBuf, seg...)
}

// writeSyslogLines sends each line of one read as "<name> <line>", like
// supervisord's SyslogHandler (trailing newlines dropped, then split).
func writeSyslogLines(w io.Writer, name string, seg []byte) {
	seg = bytes.TrimRight(seg, "\n")
	for line := range bytes.SplitSeq(seg, []byte{'\n'}) {
		msg := make([]byte, 0, len(name)+1+len(line))
		msg = append(msg, name...)
		msg = append(msg, ' ')
		msg = append(msg, line...)
		_, _ = w.Write(msg)
	}
}

// stripANSI removes ESC '[' … terminator sequences from b in place, as
// supervisord's stripEscapes (terminators HfABCDRsuJKhlpm), carrying an
// unfinished sequence over to the next call through st.
func stripANSI(b []byte, st *ansiState) []byte {
	out := b[:0]
	for i := 0; i < len(b); i++ {
		c := b[i]
		if *st == ansiInSeq {
			if isANSITerminator(c) {
				*st = ansiNormal
			}
			continue
		}
		if c == 0x1b && i+1 < len(b) && b[i+1] == '[' {
			*st = ansiInSeq
			i++
			continue
		}
		out = append(out, c)
	}
	return out
}

func isANSITerminator(c byte) bool {
	switch c {
	case 'H', 'f', 'A', 'B', 'C', 'D', 'R', 's', 'u', 'J', 'K', 'h', 'l', 'p', 'm':
		return true
	}
	return false
}
