// Package xmlrpc is a small XML-RPC codec. Requests and unusual answers
// are decoded with the encoding/xml tokenizer, answers of the usual
// shape by a faster scanner that gives the same results (fast.go). It
// decodes exactly the value types supervisord 4.2 accepts (int, i4,
// boolean, string, double, dateTime.iso8601, base64, array, struct; an
// untyped <value> is a string; no nil) and always encodes well-formed
// XML 1.0, whatever bytes a string holds (see Sanitize).
//
// Decoded values have these Go types: int, bool, string, float64,
// time.Time (UTC), []byte (base64), []any (array), map[string]any (struct).
package xmlrpc

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ErrMalformed is wrapped by every decoding error caused by the input
// (bad XML, unknown element, bad number...). An HTTP server answers 400.
var ErrMalformed = errors.New("malformed XML-RPC")

// maxDepth bounds array/struct nesting so hostile input cannot exhaust
// the stack.
const maxDepth = 64

// Request is a decoded <methodCall>.
type Request struct {
	Method string
	// Params is empty (not nil) when <params> is missing.
	Params []any
}

// DecodeRequest reads one <methodCall> document. The caller limits the
// size of r. A missing <params> element is allowed; a missing or empty
// <methodName> is an error, as in supervisord.
func DecodeRequest(r io.Reader) (*Request, error) {
	p := newParser(r)
	root, err := p.root()
	if err != nil {
		return nil, err
	}
	if root.Name.Local != "methodCall" {
		return nil, p.errf("root element is <%s>, want <methodCall>", root.Name.Local)
	}
	req := &Request{Params: []any{}}
	sawName, sawParams := false, false
	for {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "methodName":
				if sawName {
					return nil, p.errf("duplicate <methodName>")
				}
				sawName = true
				if req.Method, err = p.text(); err != nil {
					return nil, err
				}
				req.Method = strings.TrimSpace(req.Method)
			case "params":
				if sawParams {
					return nil, p.errf("duplicate <params>")
				}
				sawParams = true
				if req.Params, err = p.params(); err != nil {
					return nil, err
				}
			default:
				return nil, p.errf("unexpected <%s> in <methodCall>", t.Name.Local)
			}
		case xml.EndElement:
			if req.Method == "" {
				return nil, p.errf("no method name")
			}
			return req, p.end()
		case xml.CharData:
			if !isSpace(t) {
				return nil, p.errf("text in <methodCall>")
			}
		}
	}
}

type parser struct {
	d *xml.Decoder
}

func newParser(r io.Reader) *parser {
	d := xml.NewDecoder(r)
	d.Strict = true
	d.CharsetReader = charsetReader
	return &parser{d: d}
}

func (p *parser) errf(format string, args ...any) error {
	line, col := p.d.InputPos()
	return fmt.Errorf("%w: line %d column %d: %s", ErrMalformed, line, col, fmt.Sprintf(format, args...))
}

// next returns the next element or text token, skipping comments and
// processing instructions; directives (DOCTYPE) are refused.
func (p *parser) next() (xml.Token, error) {
	for {
		t, err := p.d.Token()
		if err == io.EOF {
			return nil, p.errf("unexpected end of document")
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		switch t := t.(type) {
		case xml.Comment, xml.ProcInst:
			continue
		case xml.Directive:
			return nil, p.errf("directives are not allowed")
		case xml.StartElement:
			if t.Name.Space != "" {
				return nil, p.errf("namespaced element <%s:%s>", t.Name.Space, t.Name.Local)
			}
			return t, nil
		default:
			return t, nil
		}
	}
}

// root skips the prolog and returns the root element.
func (p *parser) root() (xml.StartElement, error) {
	for {
		t, err := p.next()
		if err != nil {
			return xml.StartElement{}, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			return t, nil
		case xml.CharData:
			if !isSpace(t) {
				return xml.StartElement{}, p.errf("text before root element")
			}
		}
	}
}

// end checks that only whitespace, comments and PIs follow the root.
func (p *parser) end() error {
	for {
		t, err := p.d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		switch t := t.(type) {
		case xml.Comment, xml.ProcInst:
		case xml.CharData:
			if !isSpace(t) {
				return p.errf("text after root element")
			}
		default:
			return p.errf("content after root element")
		}
	}
}

// text reads character data up to the end of the current element; a
// child element is an error.
func (p *parser) text() (string, error) {
	var b strings.Builder
	for {
		t, err := p.next()
		if err != nil {
			return "", err
		}
		switch t := t.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.EndElement:
			return b.String(), nil
		case xml.StartElement:
			return "", p.errf("unexpected <%s> in a scalar", t.Name.Local)
		}
	}
}

// params reads <param><value>…</value></param>* up to </params>.
func (p *parser) params() ([]any, error) {
	out := []any{}
	for {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			if t.Name.Local != "param" {
				return nil, p.errf("unexpected <%s> in <params>", t.Name.Local)
			}
			v, err := p.wrappedValue()
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		case xml.EndElement:
			return out, nil
		case xml.CharData:
			if !isSpace(t) {
				return nil, p.errf("text in <params>")
			}
		}
	}
}

// wrappedValue reads exactly one <value> and the end of its parent.
func (p *parser) wrappedValue() (any, error) {
	var v any
	got := false
	for {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			if t.Name.Local != "value" || got {
				return nil, p.errf("unexpected <%s>, want one <value>", t.Name.Local)
			}
			if v, err = p.value(0); err != nil {
				return nil, err
			}
			got = true
		case xml.EndElement:
			if !got {
				return nil, p.errf("missing <value>")
			}
			return v, nil
		case xml.CharData:
			if !isSpace(t) {
				return nil, p.errf("text around <value>")
			}
		}
	}
}

// value reads the content of a <value> whose start tag was consumed.
func (p *parser) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, p.errf("values nested deeper than %d", maxDepth)
	}
	var text []byte
	var v any
	typed := false
	for {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.CharData:
			text = append(text, t...)
		case xml.StartElement:
			if typed || !isSpace(text) {
				return nil, p.errf("mixed content in <value>")
			}
			if v, err = p.typed(t.Name.Local, depth); err != nil {
				return nil, err
			}
			typed = true
			text = text[:0]
		case xml.EndElement:
			if typed {
				if !isSpace(text) {
					return nil, p.errf("mixed content in <value>")
				}
				return v, nil
			}
			return string(text), nil
		}
	}
}

func (p *parser) typed(name string, depth int) (any, error) {
	switch name {
	case "array":
		return p.array(depth)
	case "struct":
		return p.structure(depth)
	}
	s, err := p.text()
	if err != nil {
		return nil, err
	}
	switch name {
	case "string":
		return s, nil
	case "int", "i4":
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return nil, p.errf("bad <%s> %q", name, s)
		}
		return n, nil
	case "boolean":
		switch strings.TrimSpace(s) {
		case "1":
			return true, nil
		case "0":
			return false, nil
		}
		return nil, p.errf("bad <boolean> %q", s)
	case "double":
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, p.errf("bad <double> %q", s)
		}
		return f, nil
	case "dateTime.iso8601":
		tm, err := time.Parse(dateTimeLayout, strings.TrimSpace(s))
		if err != nil {
			return nil, p.errf("bad <dateTime.iso8601> %q", s)
		}
		return tm, nil
	case "base64":
		b, err := base64.StdEncoding.DecodeString(stripSpace(s))
		if err != nil {
			return nil, p.errf("bad <base64>: %v", err)
		}
		return b, nil
	}
	return nil, p.errf("unsupported value type <%s>", name)
}

// dateTimeLayout is the XML-RPC dateTime.iso8601 form supervisord parses.
const dateTimeLayout = "20060102T15:04:05"

func (p *parser) array(depth int) (any, error) {
	out := []any{}
	sawData, inData := false, false
	for {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			switch {
			case !inData && !sawData && t.Name.Local == "data":
				sawData, inData = true, true
			case inData && t.Name.Local == "value":
				v, err := p.value(depth + 1)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			default:
				return nil, p.errf("unexpected <%s> in <array>", t.Name.Local)
			}
		case xml.EndElement:
			if inData {
				inData = false
				continue
			}
			if !sawData {
				return nil, p.errf("<array> without <data>")
			}
			return out, nil
		case xml.CharData:
			if !isSpace(t) {
				return nil, p.errf("text in <array>")
			}
		}
	}
}

func (p *parser) structure(depth int) (any, error) {
	out := map[string]any{}
	for {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			if t.Name.Local != "member" {
				return nil, p.errf("unexpected <%s> in <struct>", t.Name.Local)
			}
			k, v, err := p.member(depth)
			if err != nil {
				return nil, err
			}
			out[k] = v
		case xml.EndElement:
			return out, nil
		case xml.CharData:
			if !isSpace(t) {
				return nil, p.errf("text in <struct>")
			}
		}
	}
}

func (p *parser) member(depth int) (string, any, error) {
	var name string
	var v any
	sawName, sawValue := false, false
	for {
		t, err := p.next()
		if err != nil {
			return "", nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			switch {
			case t.Name.Local == "name" && !sawName:
				if name, err = p.text(); err != nil {
					return "", nil, err
				}
				sawName = true
			case t.Name.Local == "value" && !sawValue:
				if v, err = p.value(depth + 1); err != nil {
					return "", nil, err
				}
				sawValue = true
			default:
				return "", nil, p.errf("unexpected <%s> in <member>", t.Name.Local)
			}
		case xml.EndElement:
			if !sawName || !sawValue {
				return "", nil, p.errf("<member> needs <name> and <value>")
			}
			return name, v, nil
		case xml.CharData:
			if !isSpace(t) {
				return "", nil, p.errf("text in <member>")
			}
		}
	}
}

func isSpace(b []byte) bool {
	return len(bytes.TrimLeft(b, " \t\r\n")) == 0
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
}
