package config

import (
	"errors"
	"strings"
)

// This file holds the two shlex dialects supervisord uses: the legacy
// (non-POSIX) one behind environment=, and shlex.split (POSIX) for command=.

// ErrNoClosingQuote and ErrNoEscapedChar are shlex's two errors, worded as
// Python words them because they reach users as spawn errors.
var (
	//lint:ignore ST1005 shlex's own wording
	ErrNoClosingQuote = errors.New("No closing quotation")
	//lint:ignore ST1005 shlex's own wording
	ErrNoEscapedChar = errors.New("No escaped character")
)

func isEnvWordChar(r rune) bool {
	return r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		strings.ContainsRune("_/.+-():", r))
}

func isShlexSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' }

// envToken is one token of the legacy shlex, with whether an unquoted '#'
// comment swallowed text while reading it or just before it.
type envToken struct {
	text    string
	comment bool
}

// envTokens tokenises like Python's shlex.shlex(s) (posix=False) with
// wordchars extended by "/.+-():": words, quoted strings kept with their
// quotes, and every other character as a token of its own. '#' starts a
// comment to the end of the line (inside a word, the word goes on after it).
func envTokens(s string) ([]envToken, error) {
	rs := []rune(s)
	var toks []envToken
	i := 0
	skipLine := func() {
		for i < len(rs) && rs[i] != '\n' {
			i++
		}
		if i < len(rs) {
			i++
		}
	}
	comment := false
	for i < len(rs) {
		r := rs[i]
		i++
		switch {
		case isShlexSpace(r):
		case r == '#':
			comment = true
			skipLine()
		case r == '\'' || r == '"':
			start := i - 1
			for i < len(rs) && rs[i] != r {
				i++
			}
			if i >= len(rs) {
				return nil, ErrNoClosingQuote
			}
			i++
			toks = append(toks, envToken{string(rs[start:i]), comment})
			comment = false
		case isEnvWordChar(r):
			var b strings.Builder
			b.WriteRune(r)
			for i < len(rs) {
				c := rs[i]
				if isShlexSpace(c) {
					i++
					break
				}
				if c == '#' {
					comment = true
					skipLine()
					continue
				}
				if isEnvWordChar(c) || c == '\'' || c == '"' {
					b.WriteRune(c)
					i++
					continue
				}
				break // punctuation: its own token next
			}
			toks = append(toks, envToken{b.String(), comment})
			comment = false
		default:
			toks = append(toks, envToken{string(r), comment})
			comment = false
		}
	}
	if comment {
		toks = append(toks, envToken{comment: true})
	}
	return toks, nil
}

// parseEnv is supervisord 4.2's dict_of_key_value_pairs: tokens taken as
// KEY = VALUE groups, the token after each group skipped unchecked, quotes
// stripped from values. Where 4.2 would silently drop text (an unquoted
// value followed by anything but ',' or ';', or a '#' comment), it fails
// with ErrEnvTruncated instead.
func parseEnv(s string) (Env, error) {
	toks, err := envTokens(s)
	if err != nil {
		return nil, verr("%v in %q", err, s)
	}
	comment := false
	if n := len(toks); n > 0 && toks[n-1].text == "" {
		toks, comment = toks[:n-1], true // a comment at the very end
	}
	// 4.2's own checks first, so its errors read as 4.2's.
	var env Env
	n := len(toks)
	for i := 0; i < n; i += 4 {
		if i+2 >= n || toks[i+1].text != "=" {
			return nil, verr("Unexpected end of key/value pairs in %q: expected KEY=VALUE pairs separated by commas, with values containing anything but letters, digits and _/.+-(): in quotes", s)
		}
		env = env.set(toks[i].text, strings.Trim(toks[i+2].text, `'"`))
	}
	// Then what 4.2 accepts but silently cuts short.
	for _, t := range toks {
		comment = comment || t.comment
	}
	if comment {
		return nil, &valueError{msg: "an unquoted '#' in environment= starts a comment that supervisord 4.2 silently drops; put the value in quotes", cause: ErrEnvTruncated}
	}
	for i := 3; i < n; i += 4 {
		if sep := toks[i].text; sep != "," && sep != ";" {
			key, val := toks[i-3].text, strings.Trim(toks[i-1].text, `'"`)
			return nil, &valueError{msg: "value of " + key + " stops at " + strQuote(sep) + ": supervisord 4.2 would silently keep only " + strQuote(val) + "; quote values containing characters other than letters, digits and _/.+-():", cause: ErrEnvTruncated}
		}
	}
	return env, nil
}

func strQuote(s string) string { return "'" + s + "'" }

// set adds or replaces key keeping its first position, like a Python dict.
func (e Env) set(key, val string) Env {
	for i := range e {
		if e[i].Key == key {
			e[i].Value = val
			return e
		}
	}
	return append(e, EnvVar{Key: key, Value: val})
}

// shlexSplit is Python's shlex.split(s): POSIX rules, no comments.
func shlexSplit(s string) ([]string, error) {
	var out []string
	var b strings.Builder
	inWord := false
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case isShlexSpace(r):
			if inWord {
				out = append(out, b.String())
				b.Reset()
				inWord = false
			}
		case r == '\\':
			i++
			if i >= len(rs) {
				return nil, ErrNoEscapedChar
			}
			b.WriteRune(rs[i])
			inWord = true
		case r == '\'':
			inWord = true
			i++
			for i < len(rs) && rs[i] != '\'' {
				b.WriteRune(rs[i])
				i++
			}
			if i >= len(rs) {
				return nil, ErrNoClosingQuote
			}
		case r == '"':
			inWord = true
			i++
			for ; i < len(rs) && rs[i] != '"'; i++ {
				if rs[i] == '\\' {
					i++
					if i >= len(rs) {
						return nil, ErrNoEscapedChar
					}
					if rs[i] != '"' && rs[i] != '\\' {
						b.WriteRune('\\')
					}
				}
				b.WriteRune(rs[i])
			}
			if i >= len(rs) {
				return nil, ErrNoClosingQuote
			}
		default:
			b.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		out = append(out, b.String())
	}
	return out, nil
}
