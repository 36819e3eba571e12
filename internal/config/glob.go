package config

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// pyGlob is Python's glob.glob(pattern) (non-recursive): wildcards never
// match a leading '.' unless the pattern component starts with one, and
// unreadable directories match nothing. Results are unsorted.
func pyGlob(pattern string) []string {
	if !hasMagic(pattern) {
		if _, err := os.Lstat(pattern); err == nil {
			return []string{pattern}
		}
		return nil
	}
	dir, base := pySplit(pattern)
	var dirs []string
	switch {
	case dir == "":
		dirs = []string{""}
	case dir != pattern && hasMagic(dir):
		for _, d := range pyGlob(dir) {
			if st, err := os.Stat(d); err == nil && st.IsDir() {
				dirs = append(dirs, d)
			}
		}
	default:
		dirs = []string{dir}
	}
	var out []string
	for _, d := range dirs {
		if !hasMagic(base) {
			if _, err := os.Lstat(pyJoin(d, base)); err == nil {
				out = append(out, pyJoin(d, base))
			}
			continue
		}
		list := d
		if list == "" {
			list = "."
		}
		ents, err := os.ReadDir(list)
		if err != nil {
			continue
		}
		re := fnmatchRegexp(base)
		for _, e := range ents {
			n := e.Name()
			if strings.HasPrefix(n, ".") && !strings.HasPrefix(base, ".") {
				continue
			}
			if re.MatchString(n) {
				out = append(out, pyJoin(d, n))
			}
		}
	}
	return out
}

func hasMagic(s string) bool { return strings.ContainsAny(s, "*?[") }

// pySplit is os.path.split: the head keeps no trailing slashes unless it is
// all slashes.
func pySplit(p string) (string, string) {
	i := strings.LastIndexByte(p, '/') + 1
	head, tail := p[:i], p[i:]
	if h := strings.TrimRight(head, "/"); h != "" {
		head = h
	}
	return head, tail
}

// pyJoin is os.path.join for two parts: an absolute b replaces a.
func pyJoin(a, b string) string {
	switch {
	case strings.HasPrefix(b, "/") || a == "":
		return b
	case strings.HasSuffix(a, "/"):
		return a + b
	}
	return a + "/" + b
}

// fnmatchRegexp translates a shell pattern like Python's fnmatch: '*', '?',
// '[seq]', '[!seq]'; an unclosed '[' is literal; backslash is not special.
func fnmatchRegexp(pat string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`(?s)\A`)
	rs := []rune(pat)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '[':
			j := i + 1
			if j < len(rs) && rs[j] == '!' {
				j++
			}
			if j < len(rs) && rs[j] == ']' {
				j++
			}
			for j < len(rs) && rs[j] != ']' {
				j++
			}
			if j >= len(rs) {
				b.WriteString(`\[`)
				continue
			}
			set := rs[i+1 : j]
			i = j
			var cls strings.Builder
			neg := len(set) > 0 && set[0] == '!'
			if neg {
				set = set[1:]
			}
			for _, r := range set {
				if r == '\\' || r == ']' || r == '[' || r == '^' {
					cls.WriteByte('\\')
				}
				cls.WriteRune(r)
			}
			if neg {
				b.WriteString("[^" + cls.String() + "]")
			} else if cls.Len() == 0 {
				b.WriteString(`[^\s\S]`)
			} else {
				b.WriteString("[" + cls.String() + "]")
			}
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`\z`)
	re, err := regexp.Compile(b.String())
	if err != nil {
		return regexp.MustCompile(`\A` + regexp.QuoteMeta(pat) + `\z`)
	}
	return re
}

func sortedGlob(pattern string) []string {
	m := pyGlob(pattern)
	sort.Strings(m)
	return m
}

// absClean is Python's os.path.abspath relative to dir.
func absClean(dir, p string) string {
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	return filepath.Clean(p)
}
