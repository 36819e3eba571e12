package httpwire

import (
	"bufio"
	"encoding/base64"
	"strconv"
	"time"
)

// TimeFormat is the format of Date and Last-Modified fields.
const TimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

// BasicAuth is the Authorization field value for user and pass.
func BasicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// WriteRequest writes an HTTP/1.1 request with body (framed by
// Content-Length when not nil) and flushes w.
func WriteRequest(w *bufio.Writer, method, target, host string, h Header, body []byte) error {
	w.WriteString(method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\n")
	writeFields(w, h)
	if body != nil {
		w.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	w.WriteString("\r\n")
	w.Write(body)
	return w.Flush()
}

func writeFields(w *bufio.Writer, h Header) {
	for _, f := range h {
		w.WriteString(f.Name + ": " + f.Value + "\r\n")
	}
}

// appendStatusLine appends "HTTP/1.1 code reason\r\n".
func appendStatusLine(dst []byte, code int) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, ' ')
	return append(append(dst, StatusText(code)...), "\r\n"...)
}

// StatusText is the reason phrase drover sends with code.
func StatusText(code int) string {
	switch code {
	case 100:
		return "Continue"
	case 200:
		return "OK"
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 404:
		return "Not Found"
	case 413:
		return "Request Entity Too Large"
	case 417:
		return "Expectation Failed"
	case 429:
		return "Too Many Requests"
	case 431:
		return "Request Header Fields Too Large"
	case 500:
		return "Internal Server Error"
	case 503:
		return "Service Unavailable"
	}
	return "Status " + strconv.Itoa(code)
}

// date is the current Date field value.
func date() string { return time.Now().UTC().Format(TimeFormat) }
