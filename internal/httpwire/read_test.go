package httpwire

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReadResponseFromNetHTTP(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.Write([]byte("part1 "))
			w.(http.Flusher).Flush()
			w.Write([]byte("part2"))
		case "/missing":
			http.NotFound(w, r)
		default:
			w.Write([]byte("fixed"))
		}
	}))
	defer ts.Close()
	c, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br, bw := bufio.NewReader(c), bufio.NewWriter(c)
	for _, tc := range []struct {
		path, body string
		status     int
	}{
		{"/chunked", "part1 part2", 200}, {"/fixed", "fixed", 200}, {"/missing", "404 page not found\n", 404},
	} {
		if err := WriteRequest(bw, "GET", tc.path, "x", Header{{"User-Agent", "t"}}, nil); err != nil {
			t.Fatal(err)
		}
		resp, err := ReadResponse(br, "GET")
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil || string(b) != tc.body || resp.Status != tc.status || resp.Close {
			t.Fatalf("%s: %d %q %v close=%v", tc.path, resp.Status, b, err, resp.Close)
		}
	}
}

func TestReadRequestErrors(t *testing.T) {
	for _, raw := range []string{
		"GET / HTTP/2.0\r\n\r\n",
		"GET  / HTTP/1.1\r\n\r\n",
		"G(T / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
		"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n",
		// Transfer-Encoding in HTTP/1.0: net/http ignores it, we refuse.
		"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	} {
		if _, err := ReadRequest(bufio.NewReader(strings.NewReader(raw))); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: err %v, want ErrMalformed", raw, err)
		}
	}
	// A truncated body is an error, not a short success.
	r, err := ReadRequest(bufio.NewReader(strings.NewReader("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r.Body); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short body: %v", err)
	}
	r, err = ReadRequest(bufio.NewReader(strings.NewReader("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(r.Body); err != nil || string(b) != "abc" {
		t.Fatalf("chunked: %q %v", b, err)
	}
	// Chunked framing is strict: CRLF only, hex digits only, trailers
	// that are header fields.
	for _, chunks := range []string{
		"3\nabc\r\n0\r\n\r\n", "3\r\nabc\n0\r\n\r\n", "3\r\nabc\r\n0\n\n", " 3\r\nabc\r\n0\r\n\r\n",
		"3 \r\nabc\r\n0\r\n\r\n", "3 ;x\r\nabc\r\n0\r\n\r\n", "0x3\r\nabc\r\n0\r\n\r\n",
		"3\r\nabc\r\n0\r\nnot a field\r\n\r\n", "3\r\nabcX\n0\r\n\r\n",
	} {
		r, err := ReadRequest(bufio.NewReader(strings.NewReader("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks)))
		if err != nil {
			t.Fatal(err)
		}
		if b, err := io.ReadAll(r.Body); !errors.Is(err, ErrMalformed) {
			t.Errorf("chunks %q: %q %v, want ErrMalformed", chunks, b, err)
		}
	}
	if u, p, ok := (&Request{Header: Header{{"authorization", BasicAuth("u", "p:w")}}}).BasicAuth(); !ok || u != "u" || p != "p:w" {
		t.Fatalf("BasicAuth: %q %q %v", u, p, ok)
	}
}

// FuzzReadRequest: any bytes give a request or an error, never a panic,
// and a body never reads past what framing allows.
func FuzzReadRequest(f *testing.F) {
	f.Add("POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody")
	f.Add("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
	f.Add("\r\nGET /logtail/x HTTP/1.0\r\nAuthorization: Basic dTpw\r\n\r\n")
	f.Fuzz(func(t *testing.T, raw string) {
		r, err := ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return
		}
		b, _ := io.ReadAll(r.Body)
		if len(b) > len(raw) || (r.ContentLength >= 0 && int64(len(b)) > r.ContentLength) {
			t.Fatalf("body of %d bytes from %d bytes, length %d", len(b), len(raw), r.ContentLength)
		}
		r.BasicAuth()
	})
}

// FuzzReadResponse: the client side of the same codec.
func FuzzReadResponse(f *testing.F) {
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	f.Add("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")
	f.Add("HTTP/1.0 401 Unauthorized\r\n\r\nclose-delimited")
	f.Fuzz(func(t *testing.T, raw string) {
		r, err := ReadResponse(bufio.NewReader(strings.NewReader(raw)), "GET")
		if err != nil {
			return
		}
		b, _ := io.ReadAll(r.Body)
		if len(b) > len(raw) {
			t.Fatalf("body of %d bytes from %d bytes", len(b), len(raw))
		}
		_ = r.StatusLine()
	})
}
