package config

import (
	"strings"
	"unicode/utf8"
)

// This file is the INI dialect of Python 3's RawConfigParser as supervisord
// 4.2 configures it (inline_comment_prefixes=(';','#'), strict=False,
// empty_lines_in_values=True), reproduced rule by rule: see docs/config.md.

// iniValue is one option: its text (continuation lines joined with "\n")
// and where its key was written.
type iniValue struct {
	text string
	pos  Pos
	cut  bool // an inline comment cut the key's line (for check's hints)
}

// iniSection is one section; repeated sections merge into the first.
type iniSection struct {
	name  string
	pos   Pos      // first header
	keys  []string // first-definition order
	vals  map[string]*iniValue
	lines map[string][]string // option lines of the file being read
}

func newSection(name string, pos Pos) *iniSection {
	return &iniSection{name: name, pos: pos, vals: map[string]*iniValue{}}
}

func (s *iniSection) set(key string, v *iniValue) {
	if _, ok := s.vals[key]; !ok {
		s.keys = append(s.keys, key)
	}
	s.vals[key] = v
}

// ini is every section read so far, in first-appearance order, plus the
// special [DEFAULT] section whose keys every section inherits.
type ini struct {
	sections []*iniSection
	byName   map[string]*iniSection
	defaults *iniSection
}

func newINI() *ini {
	return &ini{byName: map[string]*iniSection{}, defaults: newSection("DEFAULT", Pos{})}
}

// get returns a section's option, falling back to [DEFAULT].
func (p *ini) get(sec *iniSection, key string) (*iniValue, bool) {
	if v, ok := sec.vals[key]; ok {
		return v, true
	}
	v, ok := p.defaults.vals[key]
	return v, ok
}

// options lists a section's keys followed by inherited [DEFAULT] keys.
func (p *ini) options(sec *iniSection) []string {
	out := append([]string(nil), sec.keys...)
	for _, k := range p.defaults.keys {
		if _, ok := sec.vals[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

// pySpace reports whether Python's str.isspace() is true for r.
func pySpace(r rune) bool {
	switch {
	case r == ' ' || (r >= '\t' && r <= '\r') || (r >= 0x1c && r <= 0x1f):
		return true
	case r < 0x80:
		return false
	}
	switch r {
	case 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

func pyStrip(s string) string  { return strings.TrimFunc(s, pySpace) }
func pyRStrip(s string) string { return strings.TrimRightFunc(s, pySpace) }

// splitLines splits like Python's universal-newline text mode: "\r\n", "\r"
// and "\n" end a line; the terminator is dropped.
func splitLines(text string) []string {
	var lines []string
	for len(text) > 0 {
		i := strings.IndexAny(text, "\r\n")
		if i < 0 {
			lines = append(lines, text)
			break
		}
		lines = append(lines, text[:i])
		if text[i] == '\r' && i+1 < len(text) && text[i+1] == '\n' {
			i++
		}
		text = text[i+1:]
	}
	return lines
}

// commentStart finds where an inline comment starts, with Python 3.11's
// exact search: each round finds the next ';' and '#', and stops at the
// first round where one of them is at column 0 or follows whitespace.
func commentStart(line string) int {
	idx := [2]int{-1, -1}
	live := [2]bool{true, true}
	for live[0] || live[1] {
		best := -1
		for i, p := range [2]string{";", "#"} {
			if !live[i] {
				continue
			}
			j := strings.Index(line[idx[i]+1:], p)
			if j < 0 {
				live[i] = false
				continue
			}
			j += idx[i] + 1
			idx[i] = j
			if j == 0 || endsWithSpace(line[:j]) {
				if best < 0 || j < best {
					best = j
				}
			}
		}
		if best >= 0 {
			return best
		}
	}
	return -1
}

func endsWithSpace(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return pySpace(r)
}

// read parses one file's text into p, merging repeated sections. It returns
// every bad line; a line outside any section ends the read at once, as in
// Python (MissingSectionHeaderError).
func (p *ini) read(file, text string) ErrorList {
	var bad ErrorList
	var cur *iniSection
	var optname string
	indent := 0
	touched := map[*iniSection]bool{}
	lines := splitLines(text)
	for n, line := range lines {
		pos := Pos{File: file, Line: n + 1}
		cs := commentStart(line)
		full := strings.HasPrefix(pyStrip(line), ";") || strings.HasPrefix(pyStrip(line), "#")
		if full {
			cs = 0
		}
		value := line
		if cs >= 0 {
			value = line[:cs]
		}
		value = pyStrip(value)
		if value == "" {
			if cs < 0 && cur != nil && optname != "" && cur.lines[optname] != nil {
				cur.lines[optname] = append(cur.lines[optname], "")
			}
			continue
		}
		ind := strings.IndexFunc(line, func(r rune) bool { return !pySpace(r) })
		if cur != nil && optname != "" && ind > indent {
			cur.lines[optname] = append(cur.lines[optname], value)
			continue
		}
		indent = ind
		if name, ok := sectionHeader(value); ok {
			if name == "DEFAULT" {
				cur = p.defaults
			} else if s, ok := p.byName[name]; ok {
				cur = s
			} else {
				cur = newSection(name, pos)
				p.byName[name] = cur
				p.sections = append(p.sections, cur)
			}
			if !touched[cur] {
				touched[cur] = true
				cur.lines = map[string][]string{}
			}
			optname = ""
			continue
		}
		if cur == nil {
			bad = append(bad, &Error{Pos: pos, Msg: "text before the first [section] header: " + quoteLine(line)})
			p.join(touched)
			return bad
		}
		i := strings.IndexAny(value, "=:")
		if i < 0 {
			bad = append(bad, &Error{Pos: pos, Section: cur.name, Msg: "line is neither a [section] header nor key = value: " + quoteLine(line)})
			continue
		}
		key := pyRStrip(value[:i])
		if key == "" {
			bad = append(bad, &Error{Pos: pos, Section: cur.name, Msg: "missing key before '" + value[i:i+1] + "': " + quoteLine(line)})
		}
		optname = strings.ToLower(key)
		cur.lines[optname] = []string{pyStrip(value[i+1:])}
		cur.set(optname, &iniValue{pos: pos, cut: cs >= 0})
	}
	p.join(touched)
	return bad
}

// join turns the option lines of the file just read into values, as
// RawConfigParser's _join_multiline_values does.
func (p *ini) join(touched map[*iniSection]bool) {
	for s := range touched {
		for k, ls := range s.lines {
			if v, ok := s.vals[k]; ok {
				v.text = pyRStrip(strings.Join(ls, "\n"))
			}
		}
		s.lines = nil
	}
}

// sectionHeader matches Python's `\[(?P<header>.+)\]` at the start of the
// line: the header ends at the last ']' and text after it is ignored.
func sectionHeader(value string) (string, bool) {
	if !strings.HasPrefix(value, "[") {
		return "", false
	}
	j := strings.LastIndexByte(value, ']')
	if j < 2 {
		return "", false
	}
	return value[1:j], true
}

func quoteLine(s string) string {
	const max = 80
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strings.ToValidUTF8(`"`+s+`"`, "?")
}

// expandHere replaces the literal "%(here)s" in every value with dir, as
// supervisord's expand_here does after each file once [include] exists.
func (p *ini) expandHere(dir string) {
	const here = "%(here)s"
	for _, s := range p.sections {
		for _, k := range p.options(s) {
			v, _ := p.get(s, k)
			if strings.Contains(v.text, here) {
				s.set(k, &iniValue{text: strings.ReplaceAll(v.text, here, dir), pos: v.pos})
			}
		}
	}
}
