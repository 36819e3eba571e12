package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// maxEnvFile bounds an environment_file: it is read at every load.
const maxEnvFile = 1 << 20

// DotenvError is a bad line of an environment file.
type DotenvError struct {
	Line int
	Msg  string
}

func (e *DotenvError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// ParseDotenv reads the dotenv dialect of environment_file:
//
//	# comment                 blank lines and comments are skipped
//	KEY=value                 unquoted: trimmed; " #" starts a comment
//	export KEY=value          the shell's export prefix is allowed
//	KEY = 'literal $x \n'     single quotes: taken as written
//	KEY="a\nb \"q\" \\ \$"    double quotes: \n \r \t \" \\ \$ escapes
//	KEY="line 1
//	line 2"                   quoted values may span lines (PEM keys)
//
// Keys are [A-Za-z_][A-Za-z0-9_]*; a later key replaces an earlier one.
// Nothing is interpolated: $VAR stays as written.
func ParseDotenv(text string) (Env, error) {
	var env Env
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		start := i + 1
		line := strings.TrimRight(lines[i], "\r")
		s := strings.TrimLeft(line, " \t")
		if s == "" || s[0] == '#' {
			continue
		}
		if rest, ok := strings.CutPrefix(s, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			s = strings.TrimLeft(rest, " \t")
		}
		key, val, ok := strings.Cut(s, "=")
		if !ok {
			return nil, &DotenvError{start, fmt.Sprintf("%q is not KEY=VALUE", clip(line))}
		}
		key = strings.TrimRight(key, " \t")
		if !validEnvKey(key) {
			return nil, &DotenvError{start, fmt.Sprintf("%q is not a variable name (letters, digits and _, not starting with a digit)", clip(key))}
		}
		val = strings.TrimLeft(val, " \t")
		var v string
		if val != "" && (val[0] == '"' || val[0] == '\'') {
			q := val[0]
			body := val[1:]
			var b strings.Builder
			for {
				end, rest, err := quoted(body, q, &b)
				if err != nil {
					return nil, &DotenvError{i + 1, err.Error()}
				}
				if end {
					if t := strings.TrimLeft(rest, " \t\r"); t != "" && t[0] != '#' {
						return nil, &DotenvError{i + 1, fmt.Sprintf("%q after the closing quote of %s", clip(t), key)}
					}
					break
				}
				i++
				if i == len(lines) {
					return nil, &DotenvError{start, fmt.Sprintf("the quote of %s is not closed", key)}
				}
				b.WriteByte('\n')
				body = lines[i]
			}
			v = b.String()
		} else {
			if j := strings.Index(val, " #"); j >= 0 {
				val = val[:j]
			}
			if j := strings.Index(val, "\t#"); j >= 0 {
				val = val[:j]
			}
			v = strings.TrimRight(val, " \t\r")
		}
		if strings.IndexByte(v, 0) >= 0 {
			return nil, &DotenvError{start, fmt.Sprintf("the value of %s contains a NUL byte", key)}
		}
		env = env.set(key, v)
	}
	return env, nil
}

// quoted appends to b the part of one line inside quote q; end reports the
// closing quote was found, rest is what follows it.
func quoted(s string, q byte, b *strings.Builder) (end bool, rest string, err error) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q:
			return true, s[i+1:], nil
		case c == '\\' && q == '"' && i+1 < len(s):
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case '"', '\\', '$':
				b.WriteByte(s[i])
			default:
				b.WriteByte('\\')
				b.WriteByte(s[i])
			}
		case c == '\r' && i == len(s)-1:
			// a CRLF file's line end
		default:
			b.WriteByte(c)
		}
	}
	return false, "", nil
}

func validEnvKey(k string) bool {
	if k == "" || (k[0] >= '0' && k[0] <= '9') {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// envFiles reads a section's environment_file list: comma-separated
// paths, relative to the directory of the file the option is written in,
// read in order (a later file wins). Errors carry the env file's line, or
// the option's place when a file cannot be read.
func (l *loader) envFiles(g *getter) ([]string, Env, bool) {
	v, ok := g.str("environment_file")
	if !ok {
		return nil, nil, true
	}
	dir := filepath.Dir(g.pos("environment_file").File)
	var paths []string
	var env Env
	good := true
	for _, p := range listOfStrings(v) {
		if p == "" {
			continue
		}
		p = l.expandUser(p)
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		paths = append(paths, p)
		text, err := readEnvFile(p)
		if err != nil {
			g.fail("environment_file", err)
			good = false
			continue
		}
		e, err := ParseDotenv(text)
		if err != nil {
			line := 0
			var de *DotenvError
			if errors.As(err, &de) {
				line, err = de.Line, verr("%s", de.Msg)
			}
			l.e.addErr(Pos{File: p, Line: line}, g.sec.name, "environment_file", err)
			good = false
			continue
		}
		for _, kv := range e {
			env = env.set(kv.Key, kv.Value)
		}
	}
	return paths, env, good
}

func readEnvFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", verr("cannot read %s: %s", path, errText(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxEnvFile+1))
	if err != nil {
		return "", verr("cannot read %s: %s", path, errText(err))
	}
	if len(b) > maxEnvFile {
		return "", verr("%s is larger than %d bytes", path, maxEnvFile)
	}
	return string(b), nil
}
