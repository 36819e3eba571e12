package httpwire

import (
	"bufio"
	"context"
	"encoding/base64"
	"io"
	"strconv"
	"strings"
)

// Request is a request read by ReadRequest.
type Request struct {
	Method string
	// Target is the request target as sent (net/http's RequestURI).
	Target       string
	Major, Minor int
	Header       Header
	// ContentLength is the body's length, -1 when chunked.
	ContentLength int64
	// Body reads the body; never nil.
	Body io.Reader
	// Close says the client ends the connection after the answer
	// (HTTP/1.0 without keep-alive, or Connection: close).
	Close bool
	// RemoteAddr is the peer's address, set by the Server.
	RemoteAddr string

	ctx context.Context
}

// Context is done when the Server closes; never nil.
func (r *Request) Context() context.Context {
	if r.ctx == nil {
		return context.Background()
	}
	return r.ctx
}

// WithContext returns a shallow copy of r with its context set to ctx.
func (r *Request) WithContext(ctx context.Context) *Request {
	r2 := *r
	r2.ctx = ctx
	return &r2
}

// Path is the target up to a '?' or '#', still %-escaped.
func (r *Request) Path() string {
	p := r.Target
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	return p
}

// AtLeast reports whether the request's version is at least major.minor.
func (r *Request) AtLeast(major, minor int) bool {
	return r.Major > major || (r.Major == major && r.Minor >= minor)
}

// BasicAuth returns the credentials of an Authorization: Basic field.
func (r *Request) BasicAuth() (user, pass string, ok bool) {
	scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return "", "", false
	}
	return strings.Cut(string(raw), ":")
}

// ReadRequest reads one request's head from br and frames its body.
// Leading empty lines are skipped (old clients, supervisorctl among
// them, send a CRLF after a POST body). io.EOF means the client closed
// the connection between requests.
func ReadRequest(br *bufio.Reader) (*Request, error) {
	if err := skipBlankLines(br); err != nil {
		return nil, err
	}
	start, h, err := readHead(br)
	if err != nil {
		return nil, err
	}
	method, rest, ok1 := strings.Cut(start, " ")
	target, version, ok2 := strings.Cut(rest, " ")
	major, minor, ok3 := parseVersion(version)
	if !ok1 || !ok2 || !ok3 || !validName(method) || target == "" || !validValue(target) || strings.ContainsAny(target, " \t") {
		return nil, malformed("request line %q", clip(start))
	}
	r := &Request{Method: method, Target: target, Major: major, Minor: minor, Header: h}
	if !r.AtLeast(1, 1) && len(h.Values("Transfer-Encoding")) > 0 {
		// RFC 9112 6.1: the framing of an HTTP/1.0 message with
		// Transfer-Encoding is faulty (net/http ignores the field, so a
		// proxy and drover could disagree on where the body ends).
		return nil, malformed("Transfer-Encoding in an HTTP/1.0 request")
	}
	length, chunked, _, err := framing(h)
	if err != nil {
		return nil, err
	}
	r.ContentLength = length
	r.Body = bodyReader(br, length, chunked)
	if r.AtLeast(1, 1) {
		r.Close = h.HasToken("Connection", "close")
	} else {
		r.Close = !h.HasToken("Connection", "keep-alive")
	}
	return r, nil
}

// skipBlankLines drops CR and LF bytes before a start line.
func skipBlankLines(br *bufio.Reader) error {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return err
		}
		if b != '\r' && b != '\n' {
			return br.UnreadByte()
		}
	}
}

// Response is an answer read by ReadResponse.
type Response struct {
	// Status is the code; Reason the text after it ("Not Found").
	Status       int
	Reason       string
	Major, Minor int
	Header       Header
	// ContentLength is the body's length, -1 when chunked or delimited
	// by the end of the connection.
	ContentLength int64
	// Body reads the body; never nil.
	Body io.Reader
	// Close says the connection cannot carry another request.
	Close bool
}

// StatusLine is the code and reason, e.g. "401 Unauthorized".
func (r *Response) StatusLine() string {
	return strconv.Itoa(r.Status) + " " + r.Reason
}

// ReadResponse reads the answer to a request of method from br; 1xx
// interim answers (100 Continue) are skipped. A body without length
// runs to the end of the connection.
func ReadResponse(br *bufio.Reader, method string) (*Response, error) {
	for {
		start, h, err := readHead(br)
		if err != nil {
			return nil, err
		}
		version, rest, _ := strings.Cut(start, " ")
		code, reason, _ := strings.Cut(rest, " ")
		major, minor, ok := parseVersion(version)
		status, err := strconv.Atoi(code)
		if !ok || err != nil || len(code) != 3 || status < 100 {
			return nil, malformed("status line %q", clip(start))
		}
		if status < 200 && status != 101 {
			continue
		}
		r := &Response{Status: status, Reason: reason, Major: major, Minor: minor, Header: h}
		if major == 1 && minor == 0 {
			r.Close = !h.HasToken("Connection", "keep-alive")
		} else {
			r.Close = h.HasToken("Connection", "close")
		}
		length, chunked, known, err := framing(h)
		switch {
		case err != nil:
			return nil, err
		case method == "HEAD" || status == 204 || status == 304 || status == 101:
			r.Body = eofReader{}
		case !known:
			r.ContentLength, r.Close, r.Body = -1, true, br
		default:
			r.ContentLength = length
			r.Body = bodyReader(br, length, chunked)
		}
		return r, nil
	}
}
