package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/drover-sh/drover/internal/pyrepr"
)

// This file is Python's "text % dict" (printf-style formatting with a
// mapping), which supervisord applies to nearly every value.

// pyVal is an expansion value: a string, or an int (process_num, numprocs).
type pyVal struct {
	s     string
	i     int
	isInt bool
}

func strVal(s string) pyVal { return pyVal{s: s} }
func intVal(i int) pyVal    { return pyVal{i: i, isInt: true} }

// expansions is the name → value dict of one expansion context.
type expansions map[string]pyVal

// scope is a stack of expansion dicts; later layers win. It avoids
// copying the whole environment for every process.
type scope []expansions

func (e expansions) with(more expansions) scope { return scope{e, more} }

func (s scope) with(more expansions) scope {
	return append(append(make(scope, 0, len(s)+1), s...), more)
}

func (s scope) get(name string) (pyVal, bool) {
	for i := len(s) - 1; i >= 0; i-- {
		if v, ok := s[i][name]; ok {
			return v, true
		}
	}
	return pyVal{}, false
}

func (s scope) names() string {
	seen := map[string]bool{}
	var n []string
	for _, e := range s {
		for k := range e {
			if !seen[k] {
				seen[k] = true
				n = append(n, k)
			}
		}
	}
	sort.Strings(n)
	const max = 12
	if len(n) > max {
		return strings.Join(n[:max], ", ") + fmt.Sprintf(", ... (%d more)", len(n)-max)
	}
	return strings.Join(n, ", ")
}

// maxWidth bounds widths and precisions so a value cannot ask for gigabytes.
const maxWidth = 4096

// pyFormat computes s % dict. Conversions without a (name) are refused:
// Python would format the whole dict (the %s trap) or fail.
func pyFormat(s string, dict scope) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	i := 0
	for i < len(s) {
		j := strings.IndexByte(s[i:], '%')
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		b.WriteString(s[i : i+j])
		start := i + j
		i = start + 1
		if i >= len(s) {
			return "", verr("badly formatted: a lone '%%' at the end (write %%%% for a literal %%)")
		}
		var key string
		keyed := false
		if s[i] == '(' {
			depth := 1
			k := i + 1
			for k < len(s) && depth > 0 {
				switch s[k] {
				case '(':
					depth++
				case ')':
					depth--
				}
				k++
			}
			if depth > 0 {
				return "", verr("badly formatted: '%%(' without a closing ')' at index %d", start)
			}
			key = s[i+1 : k-1]
			keyed = true
			i = k
		}
		var flags string
		for i < len(s) && strings.IndexByte("-+ #0", s[i]) >= 0 {
			flags += s[i : i+1]
			i++
		}
		width, prec := -1, -1
		var err error
		if width, i, err = fmtNumber(s, i); err != nil {
			return "", err
		}
		if i < len(s) && s[i] == '.' {
			i++
			if prec, i, err = fmtNumber(s, i); err != nil {
				return "", err
			}
			if prec < 0 {
				prec = 0
			}
		}
		for i < len(s) && (s[i] == 'h' || s[i] == 'l' || s[i] == 'L') {
			i++
		}
		if i >= len(s) {
			return "", verr("badly formatted: incomplete format at index %d (write %%%% for a literal %%)", start)
		}
		conv, size := utf8.DecodeRuneInString(s[i:])
		i += size
		var v pyVal
		if keyed {
			var ok bool
			if v, ok = dict.get(key); !ok {
				return "", verr("%%(%s) cannot be expanded; available names: %s", key, dict.names())
			}
		}
		if conv == '%' {
			b.WriteByte('%')
			continue
		}
		if !keyed {
			switch conv {
			case 's', 'r', 'a':
				return "", &valueError{msg: fmt.Sprintf("%q at index %d has no (name): supervisord would expand it to the whole expansion dict, every environment variable included; drover refuses it (write %%%% for a literal %%, or %%(name)s)", s[start:i], start), cause: ErrPercentS}
			}
			if strings.ContainsRune("diouxXeEfFgGc", conv) {
				return "", verr("badly formatted: %q at index %d has no (name) (write %%%% for a literal %%)", s[start:i], start)
			}
		}
		out, err := fmtOne(conv, flags, width, prec, v)
		if err != nil {
			return "", verr("badly formatted: %v at index %d (write %%%% for a literal %%)", err, start)
		}
		b.WriteString(out)
	}
	return b.String(), nil
}

// fmtNumber reads a decimal width or precision; '*' needs a tuple and is an
// error with a dict, as in Python.
func fmtNumber(s string, i int) (int, int, error) {
	if i < len(s) && s[i] == '*' {
		return 0, i, verr("badly formatted: '*' width needs positional arguments")
	}
	n, j := -1, i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		if n < 0 {
			n = 0
		}
		n = n*10 + int(s[j]-'0')
		if n > maxWidth {
			return 0, j, verr("badly formatted: width or precision over %d", maxWidth)
		}
		j++
	}
	return n, j, nil
}

func fmtOne(conv rune, flags string, width, prec int, v pyVal) (string, error) {
	left := strings.Contains(flags, "-")
	zero := strings.Contains(flags, "0") && !left
	var body string
	numeric := false
	switch conv {
	case 's', 'r', 'a':
		switch {
		case v.isInt:
			body = strconv.Itoa(v.i)
		case conv == 's':
			body = v.s
		case conv == 'a':
			body = pyrepr.ASCII(v.s)
		default:
			body = pyrepr.Str(v.s)
		}
		if prec >= 0 && utf8.RuneCountInString(body) > prec {
			body = string([]rune(body)[:prec])
		}
	case 'd', 'i', 'u', 'o', 'x', 'X':
		if !v.isInt {
			return "", fmt.Errorf("%%%c needs a number, got a string", conv)
		}
		numeric = true
		body = fmtInt(v.i, conv, flags, prec)
	case 'e', 'E', 'f', 'F', 'g', 'G':
		if !v.isInt {
			return "", fmt.Errorf("%%%c needs a number, got a string", conv)
		}
		numeric = true
		if prec < 0 {
			prec = 6
		}
		verb := "%"
		if strings.Contains(flags, "#") {
			verb += "#"
		}
		body = fmt.Sprintf(verb+"."+strconv.Itoa(prec)+string(conv), float64(v.i))
		if v.i >= 0 {
			if strings.Contains(flags, "+") {
				body = "+" + body
			} else if strings.Contains(flags, " ") {
				body = " " + body
			}
		}
	case 'c':
		if v.isInt {
			if v.i < 0 || v.i > 0x10ffff {
				return "", fmt.Errorf("%%c arg not in range(0x110000)")
			}
			body = string(rune(v.i))
		} else if utf8.RuneCountInString(v.s) == 1 {
			body = v.s
		} else {
			return "", fmt.Errorf("%%c requires an int or a single character")
		}
	default:
		return "", fmt.Errorf("unsupported format character %q", conv)
	}
	pad := width - utf8.RuneCountInString(body)
	if pad <= 0 {
		return body, nil
	}
	switch {
	case left:
		return body + strings.Repeat(" ", pad), nil
	case zero && numeric:
		sign := ""
		if body != "" && strings.ContainsRune("+- ", rune(body[0])) {
			sign, body = body[:1], body[1:]
		}
		if strings.HasPrefix(body, "0x") || strings.HasPrefix(body, "0X") || strings.HasPrefix(body, "0o") {
			sign, body = sign+body[:2], body[2:]
		}
		return sign + strings.Repeat("0", pad) + body, nil
	}
	return strings.Repeat(" ", pad) + body, nil
}

func fmtInt(n int, conv rune, flags string, prec int) string {
	neg := n < 0
	u := uint64(n)
	if neg {
		u = uint64(-n)
	}
	var digits, prefix string
	switch conv {
	case 'o':
		digits = strconv.FormatUint(u, 8)
		if strings.Contains(flags, "#") {
			prefix = "0o"
		}
	case 'x', 'X':
		digits = strconv.FormatUint(u, 16)
		if strings.Contains(flags, "#") {
			prefix = "0x"
		}
		if conv == 'X' {
			digits = strings.ToUpper(digits)
			prefix = strings.ToUpper(prefix)
		}
	default:
		digits = strconv.FormatUint(u, 10)
	}
	if prec > len(digits) {
		digits = strings.Repeat("0", prec-len(digits)) + digits
	}
	sign := ""
	switch {
	case neg:
		sign = "-"
	case strings.Contains(flags, "+"):
		sign = "+"
	case strings.Contains(flags, " "):
		sign = " "
	}
	return sign + prefix + digits
}
