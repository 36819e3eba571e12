package rpc

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/drover-sh/drover/internal/pyrepr"
)

// pyStr renders a decoded XML-RPC value as Python's str() would, so that
// a fault detail such as "INCORRECT_PARAMETERS: {}" reads as supervisord
// writes it (never Go syntax such as "map[]").
func pyStr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	var b strings.Builder
	pyRepr(&b, v)
	return b.String()
}

// pyRepr writes Python's repr() of v. Struct keys are sorted: the decoder
// does not keep their order.
func pyRepr(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if v {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case int:
		b.WriteString(strconv.Itoa(v))
	case float64:
		b.WriteString(pyFloat(v))
	case string:
		b.WriteString(pyrepr.Str(v))
	case []byte:
		b.WriteString(pyrepr.Bytes(v))
	case time.Time:
		// xmlrpc.client.DateTime's str() is its ISO 8601 value.
		b.WriteString(v.Format("20060102T15:04:05"))
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			pyRepr(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(pyrepr.Str(k))
			b.WriteString(": ")
			pyRepr(b, v[k])
		}
		b.WriteByte('}')
	default:
		b.WriteString("?")
	}
}

// pyFloat is Python's repr of a float: shortest round-trip digits, with a
// ".0" on integral values, "inf" and "nan".
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	if a := math.Abs(f); a != 0 && (a < 1e-4 || a >= 1e16) {
		s := strconv.FormatFloat(f, 'e', -1, 64)
		// Python writes 1e+16 as 1e+16 and 1e-05 as 1e-05: two exponent digits.
		mant, exp, _ := strings.Cut(s, "e")
		sign, digits := exp[:1], strings.TrimLeft(exp[1:], "0")
		if len(digits) < 2 {
			digits = strings.Repeat("0", 2-len(digits)) + digits
		}
		return mant + "e" + sign + digits
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}
