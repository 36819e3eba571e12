package httpwire

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
)

// FuzzReadRequestAgainstNetHTTP: whatever ReadRequest accepts, net/http's
// request parser (the reference, with its smuggling fixes) accepts too,
// with the same method, target and body, and both stop reading at the
// same byte, so a pipelined next request starts at the same place for
// both. ReadRequest may refuse more than net/http does.
func FuzzReadRequestAgainstNetHTTP(f *testing.F) {
	for _, s := range []string{
		"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbodyGET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\nT: v\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n 3\r\nabc\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
		"GET /logtail/x HTTP/1.0\r\nAuthorization: Basic dTpw\r\n\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		ours := bufio.NewReader(strings.NewReader(raw))
		r, err := ReadRequest(ours)
		if err != nil {
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return // a body we refuse is no disagreement
		}
		theirs := bufio.NewReader(strings.NewReader(raw))
		// net/http skips no leading blank lines; ReadRequest does (old
		// clients send a CRLF after a POST): skip them for it too.
		skipBlankLines(theirs)
		hr, err := http.ReadRequest(theirs)
		if err != nil {
			if netHTTPOnlyRule(err) {
				return
			}
			t.Fatalf("accepted %q (body %q), net/http refuses it: %v", raw, body, err)
		}
		hbody, err := io.ReadAll(hr.Body)
		if err != nil {
			t.Fatalf("accepted %q (body %q), net/http fails reading its body: %v", raw, body, err)
		}
		if hr.Method != r.Method || hr.RequestURI != r.Target || string(hbody) != string(body) {
			t.Fatalf("%q: ours %s %s %q, net/http %s %s %q", raw, r.Method, r.Target, body, hr.Method, hr.RequestURI, hbody)
		}
		restOurs, _ := io.ReadAll(ours)
		restTheirs, _ := io.ReadAll(theirs)
		if string(restOurs) != string(restTheirs) {
			t.Fatalf("%q: the next request starts at %q for us, at %q for net/http", raw, restOurs, restTheirs)
		}
	})
}

// netHTTPOnlyRule reports a refusal for a rule that is no framing: the
// Host header and the request-target form, which net/http checks in its
// parser and drover's handlers check (or do not need) themselves.
func netHTTPOnlyRule(err error) bool {
	msg := err.Error()
	for _, s := range []string{"Host", "host", "invalid URI", "parse \"", "missing protocol", "malformed HTTP version", "unsupported protocol version"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
