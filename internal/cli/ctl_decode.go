package cli

import (
	"bytes"
	"errors"
	"strconv"
	"unicode/utf8"

	"github.com/drover-sh/drover/internal/rpc/xmlrpc"
)

// The control client decodes answers with a byte scanner specialised for
// the XML that XML-RPC servers write (drover's codec and Python's
// xmlrpc.client): it is about ten times faster than the encoding/xml
// tokenizer, which is what lets `status` on 500 programs answer in a few
// milliseconds. Anything outside that shape (comments, CDATA, DOCTYPE,
// attributes, another encoding, dateTime or base64 values) makes it give
// up, and decodeAnswer hands the document to the general decoder in
// internal/rpc/xmlrpc, so the result is always what that decoder gives.

// errSlowPath means the fast scanner met something it does not handle.
var errSlowPath = errors.New("xml-rpc fast path: unsupported construct")

// maxValueDepth bounds nesting so hostile input cannot exhaust the stack.
const maxValueDepth = 64

// decodeAnswer decodes one <methodResponse>: the value (int, bool,
// string, float64, []any, map[string]any, or what xmlrpc decodes for the
// rarer types), or a *xmlrpc.Fault error, or a malformed-document error.
func decodeAnswer(b []byte) (any, error) {
	v, err := fastDecode(b)
	if errors.Is(err, errSlowPath) {
		return xmlrpc.DecodeResponse(bytes.NewReader(b))
	}
	return v, err
}

// fastDecode is decodeAnswer's scanner; it returns errSlowPath (wrapped
// or bare) for any input it does not fully understand, including
// malformed input, so that the general decoder produces the error text.
func fastDecode(b []byte) (any, error) {
	s := &scanner{b: b}
	if err := s.prolog(); err != nil {
		return nil, err
	}
	if err := s.open("methodResponse"); err != nil {
		return nil, err
	}
	name, err := s.tag()
	if err != nil {
		return nil, err
	}
	var result any
	switch string(name) {
	case "params":
		if err := s.open("param"); err != nil {
			return nil, err
		}
		if err := s.open("value"); err != nil {
			return nil, err
		}
		if result, err = s.value(0); err != nil {
			return nil, err
		}
		for _, t := range []string{"/param", "/params"} {
			if err := s.expect(t); err != nil {
				return nil, err
			}
		}
	case "fault":
		if err := s.open("value"); err != nil {
			return nil, err
		}
		v, err := s.value(0)
		if err != nil {
			return nil, err
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, errSlowPath
		}
		code, ok1 := m["faultCode"].(int)
		str, ok2 := m["faultString"].(string)
		if !ok1 || !ok2 {
			return nil, errSlowPath
		}
		if err := s.expect("/fault"); err != nil {
			return nil, err
		}
		result = &xmlrpc.Fault{Code: code, String: str}
	default:
		return nil, errSlowPath
	}
	if err := s.expect("/methodResponse"); err != nil {
		return nil, err
	}
	s.skipSpace()
	if s.i != len(s.b) {
		return nil, errSlowPath
	}
	if f, ok := result.(*xmlrpc.Fault); ok {
		return nil, f
	}
	return result, nil
}

type scanner struct {
	b    []byte
	i    int
	keys map[string]string // member names seen, so each is allocated once
}

// key returns a member name, shared between structs with the same keys.
func (s *scanner) key(raw []byte) (string, error) {
	if k, ok := s.keys[string(raw)]; ok {
		return k, nil
	}
	k, err := unescape(raw)
	if err != nil {
		return "", err
	}
	if s.keys == nil {
		s.keys = map[string]string{}
	}
	s.keys[k] = k
	return k, nil
}

func (s *scanner) skipSpace() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// prolog skips an optional <?xml …?> declaration naming UTF-8 (or no
// encoding) and the space around it.
func (s *scanner) prolog() error {
	s.skipSpace()
	if !bytes.HasPrefix(s.b[s.i:], []byte("<?")) {
		return nil
	}
	end := bytes.Index(s.b[s.i:], []byte("?>"))
	if end < 0 {
		return errSlowPath
	}
	decl := s.b[s.i : s.i+end]
	if !bytes.HasPrefix(decl, []byte("<?xml")) {
		return errSlowPath
	}
	if k := bytes.Index(decl, []byte("encoding")); k >= 0 {
		rest := bytes.ToLower(decl[k:])
		if !bytes.Contains(rest, []byte("utf-8")) && !bytes.Contains(rest, []byte("us-ascii")) {
			return errSlowPath
		}
	}
	s.i += end + 2
	return nil
}

// tag skips space and reads the next tag, returning its name with a
// leading "/" for an end tag and a trailing "/" for an empty-element tag.
// The name aliases the input: compare it with string(name) == "…",
// which does not allocate.
func (s *scanner) tag() ([]byte, error) {
	s.skipSpace()
	if s.i >= len(s.b) || s.b[s.i] != '<' {
		return nil, errSlowPath
	}
	j := s.i + 1
	if j < len(s.b) && (s.b[j] == '!' || s.b[j] == '?') {
		return nil, errSlowPath // comment, CDATA, DOCTYPE, processing instruction
	}
	for j < len(s.b) && s.b[j] != '>' {
		switch s.b[j] {
		case ' ', '\t', '\n', '\r', '<', '"', '\'', '=':
			return nil, errSlowPath // attributes or junk: not our shape
		}
		j++
	}
	if j >= len(s.b) || j == s.i+1 {
		return nil, errSlowPath
	}
	name := s.b[s.i+1 : j]
	s.i = j + 1
	return name, nil
}

func (s *scanner) open(name string) error {
	t, err := s.tag()
	if err != nil {
		return err
	}
	if string(t) != name {
		return errSlowPath
	}
	return nil
}

func (s *scanner) expect(name string) error { return s.open(name) }

// text returns the raw character data up to the next '<'.
func (s *scanner) text() []byte {
	j := bytes.IndexByte(s.b[s.i:], '<')
	if j < 0 {
		j = len(s.b) - s.i
	}
	t := s.b[s.i : s.i+j]
	s.i += j
	return t
}

// value reads what follows a consumed <value> up to and including
// </value>.
func (s *scanner) value(depth int) (any, error) {
	if depth > maxValueDepth {
		return nil, errSlowPath
	}
	raw := s.text()
	name, err := s.tag()
	if err != nil {
		return nil, err
	}
	if string(name) == "/value" { // untyped: the text, spaces included, is a string
		return unescape(raw)
	}
	if !isBlank(raw) {
		return nil, errSlowPath
	}
	var v any
	switch tn := string(name); tn {
	case "string/":
		v = ""
	case "struct/":
		v = map[string]any{}
	case "string", "int", "i4", "boolean", "double":
		t := s.text()
		if end, err := s.tag(); err != nil || len(end) == 0 || end[0] != '/' || string(end[1:]) != tn {
			return nil, errSlowPath
		}
		if v, err = scalar(tn, t); err != nil {
			return nil, err
		}
	case "array":
		if v, err = s.array(depth); err != nil {
			return nil, err
		}
	case "struct":
		if v, err = s.structure(depth); err != nil {
			return nil, err
		}
	default:
		return nil, errSlowPath
	}
	if err := s.expect("/value"); err != nil {
		return nil, err
	}
	return v, nil
}

func scalar(name string, t []byte) (any, error) {
	switch name {
	case "string":
		return unescape(t)
	case "int", "i4":
		n, err := strconv.Atoi(string(bytes.TrimSpace(t)))
		if err != nil {
			return nil, errSlowPath
		}
		return n, nil
	case "boolean":
		switch string(bytes.TrimSpace(t)) {
		case "1":
			return true, nil
		case "0":
			return false, nil
		}
	case "double":
		f, err := strconv.ParseFloat(string(bytes.TrimSpace(t)), 64)
		if err == nil {
			return f, nil
		}
	}
	return nil, errSlowPath
}

func (s *scanner) array(depth int) (any, error) {
	name, err := s.tag()
	if err != nil {
		return nil, err
	}
	out := []any{}
	if string(name) == "data/" {
		return out, s.expect("/array")
	}
	if string(name) != "data" {
		return nil, errSlowPath
	}
	for {
		name, err := s.tag()
		if err != nil {
			return nil, err
		}
		switch string(name) {
		case "value":
			v, err := s.value(depth + 1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		case "value/":
			out = append(out, "")
		case "/data":
			return out, s.expect("/array")
		default:
			return nil, errSlowPath
		}
	}
}

func (s *scanner) structure(depth int) (any, error) {
	out := make(map[string]any, 16)
	for {
		name, err := s.tag()
		if err != nil {
			return nil, err
		}
		switch string(name) {
		case "/struct":
			return out, nil
		case "member":
		default:
			return nil, errSlowPath
		}
		if err := s.open("name"); err != nil {
			return nil, err
		}
		key, err := s.key(s.text())
		if err != nil {
			return nil, err
		}
		if err := s.expect("/name"); err != nil {
			return nil, err
		}
		var v any
		switch t, err := s.tag(); {
		case err != nil:
			return nil, err
		case string(t) == "value":
			if v, err = s.value(depth + 1); err != nil {
				return nil, err
			}
		case string(t) == "value/":
			v = ""
		default:
			return nil, errSlowPath
		}
		if err := s.expect("/member"); err != nil {
			return nil, err
		}
		out[key] = v
	}
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// unescape turns character data into a string as an XML parser would:
// the five predefined entities and character references are replaced,
// and CR LF or a lone CR become LF. Invalid UTF-8 is left to the general
// decoder (which reports it).
func unescape(t []byte) (string, error) {
	if bytes.IndexByte(t, '&') < 0 && bytes.IndexByte(t, '\r') < 0 {
		if !utf8.Valid(t) {
			return "", errSlowPath
		}
		return string(t), nil
	}
	out := make([]byte, 0, len(t))
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch c {
		case '\r':
			out = append(out, '\n')
			if i+1 < len(t) && t[i+1] == '\n' {
				i++
			}
		case '&':
			semi := bytes.IndexByte(t[i:], ';')
			if semi < 0 {
				return "", errSlowPath
			}
			ent := string(t[i+1 : i+semi])
			i += semi
			switch ent {
			case "lt":
				out = append(out, '<')
			case "gt":
				out = append(out, '>')
			case "amp":
				out = append(out, '&')
			case "quot":
				out = append(out, '"')
			case "apos":
				out = append(out, '\'')
			default:
				r, ok := charRef(ent)
				if !ok {
					return "", errSlowPath
				}
				out = utf8.AppendRune(out, r)
			}
		default:
			out = append(out, c)
		}
	}
	if !utf8.Valid(out) {
		return "", errSlowPath
	}
	return string(out), nil
}

// charRef decodes "#123" or "#x7b"; only characters XML allows pass.
func charRef(ent string) (rune, bool) {
	if len(ent) < 2 || ent[0] != '#' {
		return 0, false
	}
	var n uint64
	var err error
	if ent[1] == 'x' {
		n, err = strconv.ParseUint(ent[2:], 16, 32)
	} else {
		n, err = strconv.ParseUint(ent[1:], 10, 32)
	}
	if err != nil {
		return 0, false
	}
	r := rune(n)
	ok := r == '\t' || r == '\n' || r == '\r' ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
	return r, ok
}
