package xmlrpc

import (
	"encoding/base64"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"
)

// Struct is an XML-RPC struct whose members are written in the given
// order (a map[string]any is written sorted by key).
type Struct []Member

// Member is one named value of a Struct.
type Member struct {
	Name  string
	Value any
}

// Get returns the value of the first member called name.
func (s Struct) Get(name string) (any, bool) {
	for _, m := range s {
		if m.Name == name {
			return m.Value, true
		}
	}
	return nil, false
}

// Int range of XML-RPC <int>: integers outside it are clamped, as
// supervisord's capped_int does for timestamps.
const (
	MaxInt = math.MaxInt32
	MinInt = math.MinInt32
)

// AppendResponse appends a <methodResponse> carrying v to dst. Supported
// types: int, int32, int64, uint32, bool, string, float64, []byte (base64),
// time.Time, []any, []string, []int, map[string]any, Struct, []Struct and
// Appender. Any other type (including nil) is an error; the returned slice
// then holds a partial document and must not be sent.
func AppendResponse(dst []byte, v any) ([]byte, error) {
	dst = append(dst, "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n"...)
	dst, err := appendValue(dst, v, 0)
	if err != nil {
		return dst, err
	}
	return append(dst, "\n</param>\n</params>\n</methodResponse>\n"...), nil
}

// AppendFault appends a <methodResponse> carrying a fault to dst.
func AppendFault(dst []byte, code int, msg string) []byte {
	dst = append(dst, "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n"...)
	dst, _ = appendStruct(dst, Struct{{"faultCode", code}, {"faultString", msg}}, 0) // cannot fail
	return append(dst, "\n</fault>\n</methodResponse>\n"...)
}

// AppendRequest appends a <methodCall> of method with params to dst.
func AppendRequest(dst []byte, method string, params ...any) ([]byte, error) {
	dst = append(dst, "<?xml version='1.0'?>\n<methodCall>\n<methodName>"...)
	dst = AppendText(dst, method)
	dst = append(dst, "</methodName>\n<params>\n"...)
	for _, p := range params {
		dst = append(dst, "<param>\n"...)
		var err error
		if dst, err = appendValue(dst, p, 0); err != nil {
			return dst, err
		}
		dst = append(dst, "\n</param>\n"...)
	}
	return append(dst, "</params>\n</methodCall>\n"...), nil
}

func clampInt(n int64) int64 {
	if n > MaxInt {
		return MaxInt
	}
	if n < MinInt {
		return MinInt
	}
	return n
}

// AppendInt appends n as an <int> <value>, clamped to the XML-RPC range.
func AppendInt(dst []byte, n int64) []byte {
	dst = append(dst, "<value><int>"...)
	dst = strconv.AppendInt(dst, clampInt(n), 10)
	return append(dst, "</int></value>"...)
}

// AppendString appends s as a <string> <value>, sanitized as by
// Sanitize.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, "<value><string>"...)
	dst = AppendText(dst, s)
	return append(dst, "</string></value>"...)
}

func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return dst, fmt.Errorf("xmlrpc: values nested deeper than %d", maxDepth)
	}
	switch v := v.(type) {
	case int:
		dst = AppendInt(dst, int64(v))
	case int32:
		dst = AppendInt(dst, int64(v))
	case int64:
		dst = AppendInt(dst, v)
	case uint32:
		dst = AppendInt(dst, int64(v))
	case bool:
		if v {
			dst = append(dst, "<value><boolean>1</boolean></value>"...)
		} else {
			dst = append(dst, "<value><boolean>0</boolean></value>"...)
		}
	case string:
		dst = AppendString(dst, v)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return dst, fmt.Errorf("xmlrpc: cannot encode double %v", v)
		}
		dst = append(dst, "<value><double>"...)
		dst = strconv.AppendFloat(dst, v, 'f', -1, 64)
		dst = append(dst, "</double></value>"...)
	case []byte:
		dst = append(dst, "<value><base64>"...)
		dst = base64.StdEncoding.AppendEncode(dst, v)
		dst = append(dst, "</base64></value>"...)
	case time.Time:
		dst = append(dst, "<value><dateTime.iso8601>"...)
		dst = v.UTC().AppendFormat(dst, dateTimeLayout)
		dst = append(dst, "</dateTime.iso8601></value>"...)
	case []any:
		return appendArray(dst, v, depth)
	case []string:
		return appendArray(dst, v, depth)
	case []int:
		return appendArray(dst, v, depth)
	case []Struct:
		return appendArray(dst, v, depth)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		s := make(Struct, len(keys))
		for i, k := range keys {
			s[i] = Member{k, v[k]}
		}
		return appendStruct(dst, s, depth)
	case Struct:
		return appendStruct(dst, v, depth)
	case Appender:
		return v.AppendXMLRPC(dst, depth)
	default:
		return dst, fmt.Errorf("xmlrpc: cannot encode %T", v)
	}
	return dst, nil
}

// Appender is a value that encodes itself: AppendXMLRPC appends one
// <value> element to dst. depth is its nesting level, for values that
// contain others.
type Appender interface {
	AppendXMLRPC(dst []byte, depth int) ([]byte, error)
}

func appendArray[T any](dst []byte, v []T, depth int) ([]byte, error) {
	dst = append(dst, "<value><array><data>\n"...)
	for _, e := range v {
		var err error
		if dst, err = appendValue(dst, e, depth+1); err != nil {
			return dst, err
		}
		dst = append(dst, '\n')
	}
	return append(dst, "</data></array></value>"...), nil
}

func appendStruct(dst []byte, s Struct, depth int) ([]byte, error) {
	dst = append(dst, "<value><struct>\n"...)
	for _, m := range s {
		dst = AppendMemberName(dst, m.Name)
		var err error
		if dst, err = appendValue(dst, m.Value, depth+1); err != nil {
			return dst, err
		}
		dst = append(dst, "\n</member>\n"...)
	}
	return append(dst, "</struct></value>"...), nil
}

// AppendMemberName appends the start of a struct member up to its
// <value>; the member ends with "\n</member>\n".
func AppendMemberName(dst []byte, name string) []byte {
	dst = append(dst, "<member>\n<name>"...)
	dst = AppendText(dst, name)
	return append(dst, "</name>\n"...)
}

// replacement reports whether the rune r (n bytes long) cannot appear in
// XML 1.0 and, if so, what to write instead.
func replacement(r rune, n int) (rune, bool) {
	switch {
	case r == utf8.RuneError && n == 1:
		return utf8.RuneError, true
	case r < 0x20 && r != '\t' && r != '\n' && r != '\r':
		return 0x2400 + r, true
	case r == 0xFFFE || r == 0xFFFF:
		return utf8.RuneError, true
	}
	return r, false
}

// AppendText appends s as XML character data, sanitized as by Sanitize.
// Runs of ordinary characters are copied in one piece.
func AppendText(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x80 && c != '&' && c != '<' && c != '>' {
			i++
			continue
		}
		var esc string
		n := 1
		switch c {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\r':
			esc = "&#13;"
		case '\t', '\n':
			i++
			continue
		default:
			var r rune
			r, n = utf8.DecodeRuneInString(s[i:])
			rr, bad := replacement(r, n)
			if !bad {
				i += n
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = utf8.AppendRune(dst, rr)
			i += n
			start = i
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = append(dst, esc...)
		i += n
		start = i
	}
	return append(dst, s[start:]...)
}
