package xmlrpc

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Answers are decoded by a scanner specialised for the XML that XML-RPC
// servers write (this package's encoder and Python's xmlrpc.client): it
// is about ten times faster than the encoding/xml tokenizer and its
// strings share the document's memory, which is what lets `status` on
// 500 programs answer in a few milliseconds. Anything outside that shape
// (comments, CDATA, DOCTYPE, attributes, another encoding, dateTime or
// base64 values) and any malformed input make it give up, and the
// document goes to the general decoder, so the result and the error
// text are always what that decoder gives.

// errSlowPath means the fast scanner met something it does not handle.
var errSlowPath = errors.New("xml-rpc fast path: unsupported construct")

// ParseResponse decodes one <methodResponse> document: its value (see
// the package doc for the Go types), a *Fault error, or an error
// wrapping ErrMalformed. Strings in the value may share doc's memory.
func ParseResponse(doc string) (any, error) {
	v, err := fastResponse(doc)
	if errors.Is(err, errSlowPath) {
		return decodeResponse(strings.NewReader(doc))
	}
	return v, err
}

// fastResponse is ParseResponse's scanner; it returns errSlowPath for
// any input it does not fully understand, malformed input included.
func fastResponse(doc string) (any, error) {
	s := &scanner{s: doc}
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
	switch name {
	case "params":
		if err := s.openAll("param", "value"); err != nil {
			return nil, err
		}
		if result, err = s.value(0); err != nil {
			return nil, err
		}
		if err := s.openAll("/param", "/params"); err != nil {
			return nil, err
		}
	case "fault":
		if err := s.open("value"); err != nil {
			return nil, err
		}
		v, err := s.value(0)
		if err != nil {
			return nil, err
		}
		m, _ := v.(map[string]any)
		code, ok1 := m["faultCode"].(int)
		str, ok2 := m["faultString"].(string)
		if !ok1 || !ok2 {
			return nil, errSlowPath
		}
		if err := s.open("/fault"); err != nil {
			return nil, err
		}
		result = &Fault{Code: code, String: str}
	default:
		return nil, errSlowPath
	}
	if err := s.open("/methodResponse"); err != nil {
		return nil, err
	}
	s.skipSpace()
	if s.i != len(s.s) {
		return nil, errSlowPath
	}
	if f, ok := result.(*Fault); ok {
		return nil, f
	}
	return result, nil
}

type scanner struct {
	s string
	i int
	// members and items are the sizes of the last struct and array, the
	// size hints for the next: the elements of an array usually have the
	// same shape.
	members, items int
}

func (s *scanner) skipSpace() {
	for s.i < len(s.s) {
		switch s.s[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// prolog skips an optional <?xml …?> declaration naming UTF-8 or
// US-ASCII (or no encoding) and the space around it.
func (s *scanner) prolog() error {
	s.skipSpace()
	if !strings.HasPrefix(s.s[s.i:], "<?") {
		return nil
	}
	end := strings.Index(s.s[s.i:], "?>")
	if end < 0 {
		return errSlowPath
	}
	decl := s.s[s.i : s.i+end]
	if !strings.HasPrefix(decl, "<?xml") {
		return errSlowPath
	}
	if k := strings.Index(decl, "encoding"); k >= 0 {
		rest := strings.ToLower(decl[k:])
		if !strings.Contains(rest, "utf-8") && !strings.Contains(rest, "us-ascii") {
			return errSlowPath
		}
	}
	s.i += end + 2
	return nil
}

// tag skips space and reads the next tag, returning its name with a
// leading "/" for an end tag and a trailing "/" for an empty-element tag.
func (s *scanner) tag() (string, error) {
	s.skipSpace()
	if s.i >= len(s.s) || s.s[s.i] != '<' {
		return "", errSlowPath
	}
	j := s.i + 1
	if j < len(s.s) && (s.s[j] == '!' || s.s[j] == '?') {
		return "", errSlowPath // comment, CDATA, DOCTYPE, processing instruction
	}
	for j < len(s.s) && s.s[j] != '>' {
		switch s.s[j] {
		case ' ', '\t', '\n', '\r', '<', '"', '\'', '=':
			return "", errSlowPath // attributes or junk: not our shape
		}
		j++
	}
	if j >= len(s.s) || j == s.i+1 {
		return "", errSlowPath
	}
	name := s.s[s.i+1 : j]
	s.i = j + 1
	return name, nil
}

// open reads the next tag, which must be name.
func (s *scanner) open(name string) error {
	s.skipSpace()
	if r := s.s[s.i:]; len(r) > len(name)+1 && r[0] == '<' && r[1:1+len(name)] == name && r[1+len(name)] == '>' {
		s.i += len(name) + 2
		return nil
	}
	t, err := s.tag()
	if err != nil {
		return err
	}
	if t != name {
		return errSlowPath
	}
	return nil
}

func (s *scanner) openAll(names ...string) error {
	for _, n := range names {
		if err := s.open(n); err != nil {
			return err
		}
	}
	return nil
}

// text returns the raw character data up to the next '<'.
func (s *scanner) text() string {
	j := strings.IndexByte(s.s[s.i:], '<')
	if j < 0 {
		j = len(s.s) - s.i
	}
	t := s.s[s.i : s.i+j]
	s.i += j
	return t
}

// value reads what follows a consumed <value> up to and including
// </value>.
func (s *scanner) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, errSlowPath
	}
	raw := s.text()
	name, err := s.tag()
	if err != nil {
		return nil, err
	}
	if name == "/value" { // untyped: the text, spaces included, is a string
		return unescape(raw)
	}
	if !isBlank(raw) {
		return nil, errSlowPath
	}
	var v any
	switch name {
	case "string/":
		v = ""
	case "struct/":
		v = map[string]any{}
	case "string", "int", "i4", "boolean", "double":
		t := s.text()
		if end, err := s.tag(); err != nil || len(end) == 0 || end[0] != '/' || end[1:] != name {
			return nil, errSlowPath
		}
		if v, err = scalar(name, t); err != nil {
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
	if err := s.open("/value"); err != nil {
		return nil, err
	}
	return v, nil
}

func scalar(name, t string) (any, error) {
	switch name {
	case "string":
		return unescape(t)
	case "int", "i4":
		n, err := strconv.Atoi(strings.TrimSpace(t))
		if err != nil {
			return nil, errSlowPath
		}
		return n, nil
	case "boolean":
		switch strings.TrimSpace(t) {
		case "1":
			return true, nil
		case "0":
			return false, nil
		}
	case "double":
		f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
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
	out := make([]any, 0, s.items)
	if name == "data/" {
		return out, s.open("/array")
	}
	if name != "data" {
		return nil, errSlowPath
	}
	for {
		name, err := s.tag()
		if err != nil {
			return nil, err
		}
		switch name {
		case "value":
			v, err := s.value(depth + 1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		case "value/":
			out = append(out, "")
		case "/data":
			s.items = len(out)
			return out, s.open("/array")
		default:
			return nil, errSlowPath
		}
	}
}

func (s *scanner) structure(depth int) (any, error) {
	out := make(map[string]any, s.members)
	for {
		name, err := s.tag()
		if err != nil {
			return nil, err
		}
		switch name {
		case "/struct":
			s.members = len(out)
			return out, nil
		case "member":
		default:
			return nil, errSlowPath
		}
		if err := s.open("name"); err != nil {
			return nil, err
		}
		key, err := unescape(s.text())
		if err != nil {
			return nil, err
		}
		if err := s.open("/name"); err != nil {
			return nil, err
		}
		var v any
		switch t, err := s.tag(); {
		case err != nil:
			return nil, err
		case t == "value":
			if v, err = s.value(depth + 1); err != nil {
				return nil, err
			}
		case t == "value/":
			v = ""
		default:
			return nil, errSlowPath
		}
		if err := s.open("/member"); err != nil {
			return nil, err
		}
		out[key] = v
	}
}

func isBlank(t string) bool {
	for i := 0; i < len(t); i++ {
		if c := t[i]; c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// unescape turns character data into a string as an XML parser would:
// the five predefined entities and character references are replaced,
// and CR LF or a lone CR become LF. Text that needs none of this is
// returned as is (sharing the document). Invalid UTF-8 and characters
// XML does not allow are left to the general decoder (which reports
// them).
func unescape(t string) (string, error) {
	if strings.IndexByte(t, '&') < 0 && strings.IndexByte(t, '\r') < 0 {
		if !xmlChars(t) {
			return "", errSlowPath
		}
		return t, nil
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
			semi := strings.IndexByte(t[i:], ';')
			if semi < 0 {
				return "", errSlowPath
			}
			ent := t[i+1 : i+semi]
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
	if !xmlChars(string(out)) {
		return "", errSlowPath
	}
	return string(out), nil
}

// xmlChars reports whether t is valid UTF-8 made of characters XML 1.0
// allows (what the general decoder accepts in text).
func xmlChars(t string) bool {
	for i := 0; i < len(t); {
		c := t[i]
		if c >= 0x20 && c < 0x80 || c == '\t' || c == '\n' || c == '\r' {
			i++
			continue
		}
		if c < 0x80 {
			return false
		}
		r, n := utf8.DecodeRuneInString(t[i:])
		if !isXMLRune(r) || r == utf8.RuneError && n == 1 {
			return false
		}
		i += n
	}
	return true
}

func isXMLRune(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
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
	return rune(n), isXMLRune(rune(n))
}
