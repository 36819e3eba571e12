package events

import (
	"bytes"
	"strconv"
)

// ListenerState is a listener's protocol state (supervisord's
// EventListenerStates).
type ListenerState uint8

// Listener states.
const (
	Acknowledged ListenerState = iota // started, or answered: waits for READY
	Ready                             // said READY: may get an event
	Busy                              // has an event: waits for RESULT
	Unknown                           // broke the protocol: gets nothing until it restarts
)

func (s ListenerState) String() string {
	switch s {
	case Acknowledged:
		return "ACKNOWLEDGED"
	case Ready:
		return "READY"
	case Busy:
		return "BUSY"
	}
	return "UNKNOWN"
}

var readyToken = []byte("READY\n")

// resultTokenLen is len("RESULT "): like supervisord, the result line's
// first 7 bytes are skipped unread and the rest must be the length.
const resultTokenLen = 7

// Outcome is what one step of a listener's output meant.
type Outcome uint8

// Outcomes of Protocol.Feed.
const (
	SaidReady Outcome = iota + 1 // ACKNOWLEDGED -> READY
	Processed                    // RESULT OK: the event is done
	Rejected                     // any other result: the event goes back to the head of the buffer
	Broken                       // protocol error: now UNKNOWN (an event it held is rejected)
)

// Protocol parses one listener's stdout as supervisord's
// PEventListenerDispatcher does. The zero value is a fresh listener
// (ACKNOWLEDGED).
type Protocol struct {
	State     ListenerState
	buf       []byte
	resultLen int  // the body length of the result line read; valid with haveLen
	haveLen   bool // a result line was read and its body is awaited
	result    []byte
	// BadLine is the last malformed result line, for the warning.
	BadLine []byte
}

// Sent records that an event was written to the listener: READY -> BUSY.
func (p *Protocol) Sent() { p.State = Busy }

// maxPending bounds what a listener may leave unparsed: a result line
// without its newline, or a result's body. supervisord has no bound; a
// listener that streams megabytes without a newline is broken anyway.
const maxPending = 1 << 20

// Feed consumes output and reports each outcome, in order, to out.
func (p *Protocol) Feed(data []byte, out func(Outcome)) {
	if p.State == Unknown {
		return // supervisord discards everything in UNKNOWN
	}
	p.buf = append(p.buf, data...)
	for len(p.buf) > 0 {
		switch p.State {
		case Unknown:
			p.buf = p.buf[:0]
			return
		case Acknowledged:
			if len(p.buf) < len(readyToken) {
				return
			}
			if !bytes.HasPrefix(p.buf, readyToken) {
				p.breakDown(nil, out)
				return
			}
			p.buf = p.buf[:copy(p.buf, p.buf[len(readyToken):])]
			p.State = Ready
			out(SaidReady)
		case Ready:
			p.breakDown(nil, out) // output while nothing was asked: supervisord is strict
			return
		case Busy:
			if !p.haveLen {
				i := bytes.IndexByte(p.buf, '\n')
				if i < 0 {
					if len(p.buf) > maxPending {
						p.breakDown(p.buf[:64], out)
					}
					return
				}
				line := p.buf[:i]
				n, ok := resultLength(line)
				if !ok {
					p.breakDown(line, out)
					return
				}
				p.buf = p.buf[:copy(p.buf, p.buf[i+1:])]
				p.resultLen, p.haveLen = n, true
				if n > maxPending {
					p.breakDown(line, out)
					return
				}
				continue // like supervisord: the body is looked at only with more output
			}
			need := p.resultLen - len(p.result)
			take := min(need, len(p.buf))
			p.result = append(p.result, p.buf[:take]...)
			p.buf = p.buf[:copy(p.buf, p.buf[take:])]
			if len(p.result) < p.resultLen {
				return
			}
			ok := string(p.result) == "OK"
			p.result, p.haveLen, p.resultLen = p.result[:0], false, 0
			p.State = Acknowledged
			if ok {
				out(Processed)
			} else {
				out(Rejected)
			}
		}
	}
}

// breakDown moves to UNKNOWN and drops what was buffered.
func (p *Protocol) breakDown(line []byte, out func(Outcome)) {
	p.BadLine = append(p.BadLine[:0], line...)
	p.State = Unknown
	p.buf, p.result, p.haveLen, p.resultLen = nil, nil, false, 0
	out(Broken)
}

// resultLength parses the length of a "RESULT <n>" line as Python's int()
// would parse line[7:] (surrounding whitespace allowed); negative lengths
// are refused.
func resultLength(line []byte) (int, bool) {
	if len(line) < resultTokenLen {
		return 0, false
	}
	s := string(bytes.TrimSpace(line[resultTokenLen:]))
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}
