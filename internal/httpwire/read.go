package httpwire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MaxHeadBytes bounds a message's start line and header fields together.
const MaxHeadBytes = 64 << 10

// Errors of the codecs; a server answers ErrMalformed with 400 and
// ErrHeadTooLarge with 431, then closes the connection.
var (
	ErrMalformed    = errors.New("malformed HTTP message")
	ErrHeadTooLarge = errors.New("HTTP header too large")
)

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// readHead reads a start line and the header fields up to the empty line.
func readHead(br *bufio.Reader) (start string, h Header, err error) {
	budget := MaxHeadBytes
	line := func() (string, error) {
		var buf []byte
		for {
			frag, err := br.ReadSlice('\n')
			budget -= len(frag)
			if budget < 0 {
				return "", ErrHeadTooLarge
			}
			buf = append(buf, frag...)
			if err == nil {
				break
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				if errors.Is(err, io.EOF) && len(buf) > 0 {
					err = io.ErrUnexpectedEOF
				}
				return "", err
			}
		}
		return string(bytes.TrimSuffix(bytes.TrimSuffix(buf, []byte("\n")), []byte("\r"))), nil
	}
	if start, err = line(); err != nil {
		return "", nil, err
	}
	for {
		l, err := line()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return "", nil, err
		}
		if l == "" {
			return start, h, nil
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok || !validName(name) {
			return "", nil, malformed("header line %q", clip(l))
		}
		value = strings.Trim(value, " \t")
		if !validValue(value) {
			return "", nil, malformed("control character in header %s", name)
		}
		h = append(h, Field{name, value})
	}
}

// parseVersion parses "HTTP/1.x".
func parseVersion(s string) (major, minor int, ok bool) {
	rest, ok := strings.CutPrefix(s, "HTTP/1.")
	if !ok || len(rest) != 1 || rest[0] < '0' || rest[0] > '9' {
		return 0, 0, false
	}
	return 1, int(rest[0] - '0'), true
}

// framing decides how a body is delimited: chunked (length -1, chunked
// true), by Content-Length, or (when neither is sent) by the caller's
// default. Both at once, unknown transfer codings and disagreeing or
// malformed lengths are refused: they are how requests get smuggled.
func framing(h Header) (length int64, chunked, known bool, err error) {
	te := h.Values("Transfer-Encoding")
	cl := h.Values("Content-Length")
	if len(te) > 0 {
		if len(cl) > 0 {
			return 0, false, false, malformed("both Transfer-Encoding and Content-Length")
		}
		if len(te) != 1 || !strings.EqualFold(strings.TrimSpace(te[0]), "chunked") {
			return 0, false, false, malformed("unsupported Transfer-Encoding %q", clip(strings.Join(te, ", ")))
		}
		return -1, true, true, nil
	}
	if len(cl) == 0 {
		return 0, false, false, nil
	}
	for _, v := range cl {
		if v != cl[0] {
			return 0, false, false, malformed("disagreeing Content-Length values")
		}
	}
	n, err := strconv.ParseInt(cl[0], 10, 64)
	if err != nil || n < 0 || cl[0][0] == '+' {
		return 0, false, false, malformed("Content-Length %q", clip(cl[0]))
	}
	return n, false, true, nil
}

// fixedBody reads exactly n bytes; a short stream is io.ErrUnexpectedEOF.
type fixedBody struct {
	r io.Reader
	n int64
}

func (b *fixedBody) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	if errors.Is(err, io.EOF) {
		if b.n > 0 {
			return n, io.ErrUnexpectedEOF
		}
		err = nil
	}
	return n, err
}

// chunkedBody decodes Transfer-Encoding: chunked (extensions and
// trailers are read and dropped).
type chunkedBody struct {
	br   *bufio.Reader
	left int64 // bytes left in the current chunk
	done bool
	err  error
}

func (c *chunkedBody) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.done {
		return 0, io.EOF
	}
	if c.left == 0 {
		if c.err = c.nextChunk(); c.err != nil {
			return 0, c.err
		}
		if c.done {
			return 0, io.EOF
		}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.br.Read(p)
	c.left -= int64(n)
	if c.left == 0 && err == nil {
		err = c.crlf()
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	c.err = err
	return n, err
}

// nextChunk reads a chunk-size line; size 0 also reads the trailers.
// The framing is strict, as request smuggling hides in its leniencies
// (net/http closed the same hole in Go 1.24.2): the line ends in CRLF,
// and the size is hex digits only, with no whitespace before an
// extension.
func (c *chunkedBody) nextChunk() error {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, bufio.ErrBufferFull) {
			return malformed("chunk size line")
		}
		return err
	}
	body, ok := bytes.CutSuffix(line, []byte("\r\n"))
	if !ok {
		return malformed("chunk size line without CRLF")
	}
	size, _, _ := bytes.Cut(body, []byte(";"))
	if len(size) == 0 || len(size) > 16 || !isHex(size) {
		return malformed("chunk size %q", clip(string(size)))
	}
	n, err := strconv.ParseInt(string(size), 16, 64)
	if err != nil || n < 0 {
		return malformed("chunk size %q", clip(string(size)))
	}
	if n > 0 {
		c.left = n
		return nil
	}
	c.done = true
	for budget := MaxHeadBytes; ; {
		t, err := c.br.ReadSlice('\n')
		if budget -= len(t); err != nil || budget < 0 {
			return malformed("chunked trailer")
		}
		t, ok := bytes.CutSuffix(t, []byte("\r\n"))
		if !ok {
			return malformed("chunked trailer line without CRLF")
		}
		if len(t) == 0 {
			return nil
		}
		if name, value, ok := strings.Cut(string(t), ":"); !ok || !validName(name) || !validValue(strings.Trim(value, " \t")) {
			return malformed("chunked trailer %q", clip(string(t)))
		}
	}
}

func isHex(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// crlf reads the CRLF that ends a chunk's data.
func (c *chunkedBody) crlf() error {
	var two [2]byte
	if _, err := io.ReadFull(c.br, two[:]); err != nil {
		return err
	}
	if two != [2]byte{'\r', '\n'} {
		return malformed("chunk not followed by CRLF")
	}
	return nil
}

// bodyReader returns the reader of a body framed as framing said.
func bodyReader(br *bufio.Reader, length int64, chunked bool) io.Reader {
	switch {
	case chunked:
		return &chunkedBody{br: br}
	case length == 0:
		return eofReader{}
	default:
		return &fixedBody{r: br, n: length}
	}
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// clip shortens what an error quotes from the wire.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
