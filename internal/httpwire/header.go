// Package httpwire is the small HTTP/1.1 that drover speaks: request and
// response codecs, a connection loop for the control API and the demo
// app, and the pieces of a client. The drover binary does not link
// net/http: with HTTP/2 and crypto/tls behind it, net/http cost every
// short-lived CLI run about 3 ms of package init and page faults (a
// third of `drover status`'s budget) and the daemon resident binary
// pages, for features (TLS, HTTP/2, proxies, redirects) drover never
// uses on its loopback and unix sockets.
package httpwire

import "strings"

// Field is one header line.
type Field struct {
	Name, Value string
}

// Header holds a message's fields in the order they were read or set.
// Names compare case-insensitively.
type Header []Field

// Get returns the value of the first field named name, or "".
func (h Header) Get(name string) string {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Values returns every value of the fields named name.
func (h Header) Values(name string) []string {
	var out []string
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			out = append(out, f.Value)
		}
	}
	return out
}

// Set replaces the fields named name with one holding value.
func (h *Header) Set(name, value string) {
	h.Del(name)
	*h = append(*h, Field{name, value})
}

// Del removes the fields named name.
func (h *Header) Del(name string) {
	out := (*h)[:0]
	for _, f := range *h {
		if !strings.EqualFold(f.Name, name) {
			out = append(out, f)
		}
	}
	*h = out
}

// HasToken reports whether a comma-separated field named name (e.g.
// Connection) lists token, case-insensitively.
func (h Header) HasToken(name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// validName reports whether s is an HTTP token (a method or field name).
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validValue reports whether s may be a field value or request target:
// no control characters but tab.
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
