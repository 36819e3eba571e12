package config

import (
	"strconv"
	"strings"
)

// getter reads one section's options: value or default, % expansion with
// the names of its context, conversion, and errors with file:line.
type getter struct {
	l    *loader
	sec  *iniSection
	kind string
	exp  scope
	defs map[string]string
}

func (l *loader) getter(sec *iniSection, kind string, exp scope) *getter {
	return &getter{l: l, sec: sec, kind: kind, exp: exp, defs: knownOptions.get()[kind]}
}

// raw returns the unexpanded text and its place; none is true when the
// option is absent and its default is None.
func (g *getter) raw(key string) (text string, pos Pos, none bool) {
	if v, ok := g.l.p.get(g.sec, key); ok {
		return v.text, v.pos, false
	}
	d, ok := g.defs[key]
	if g.kind == kindSupervisord && key == "childlogdir" {
		d = g.l.o.TempDir // the only machine-dependent default
	}
	if !ok || d == noDefault {
		return "", g.sec.pos, true
	}
	return d, g.sec.pos, false
}

// has reports whether the option is written (in the section or [DEFAULT]).
func (g *getter) has(key string) bool {
	_, ok := g.l.p.get(g.sec, key)
	return ok
}

// pos is where an option is written, or the section header.
func (g *getter) pos(key string) Pos {
	if v, ok := g.l.p.get(g.sec, key); ok {
		return v.pos
	}
	return g.sec.pos
}

func (g *getter) fail(key string, err error) {
	g.l.e.addErr(g.pos(key), g.sec.name, key, err)
}

func (g *getter) warn(key, msg string) {
	g.l.e.warn(g.pos(key), g.sec.name, key, "%s", msg)
}

func (g *getter) failf(key, format string, args ...any) {
	g.l.e.add(g.pos(key), g.sec.name, key, format, args...)
}

// str returns the expanded value; ok is false when the option is None or
// its expansion failed (the error is recorded).
func (g *getter) str(key string) (string, bool) {
	return g.strWith(key, g.exp)
}

func (g *getter) strWith(key string, exp scope) (string, bool) {
	text, _, none := g.raw(key)
	if none {
		return "", false
	}
	v, err := pyFormat(text, exp)
	if err != nil {
		g.fail(key, err)
		return "", false
	}
	return v, true
}

// strOr is str with "" for None.
func (g *getter) strOr(key string) string {
	v, _ := g.str(key)
	return v
}

// conv reads, expands and converts one option; on None or error it returns
// the zero value and false.
func conv[T any](g *getter, key string, f func(string) (T, error)) (T, bool) {
	var zero T
	s, ok := g.str(key)
	if !ok {
		return zero, false
	}
	v, err := f(s)
	if err != nil {
		g.fail(key, err)
		return zero, false
	}
	return v, true
}

func (g *getter) int(key string) int {
	v, _ := conv(g, key, toInt)
	return v
}

func (g *getter) bool(key string) bool {
	v, _ := conv(g, key, pyBool)
	return v
}

func (g *getter) bytes(key string) int64 {
	v, _ := conv(g, key, byteSize)
	return v
}

// expandUser is os.path.expanduser with the daemon's HOME and the Host's
// user database.
func (l *loader) expandUser(p string) string {
	if !strings.HasPrefix(p, "~") {
		return p
	}
	i := strings.IndexByte(p, '/')
	if i < 0 {
		i = len(p)
	}
	var home string
	if i == 1 {
		h, ok := l.env["HOME"]
		if !ok {
			u, err := l.o.Host.LookupUser(strconv.Itoa(l.o.Host.UID()))
			if err != nil {
				return p
			}
			h = u.HomeDir
		}
		home = h
	} else {
		u, err := l.o.Host.LookupUser(p[1:i])
		if err != nil {
			return p
		}
		home = u.HomeDir
	}
	home = strings.TrimRight(home, "/")
	if r := home + p[i:]; r != "" {
		return r
	}
	return "/"
}

// existingDirpath is 4.2's existing_dirpath: ~ expanded, and the directory
// part, if any, must exist.
func (l *loader) existingDirpath(p string) (string, error) {
	np := l.expandUser(p)
	dir := pyDirname(np)
	if dir == "" || l.o.Host.IsDir(absClean(l.o.Dir, dir)) {
		return np, nil
	}
	return "", verr("the directory of %q does not exist (create it, or use another path)", p)
}

// existingDirectory is 4.2's existing_directory.
func (l *loader) existingDirectory(p string) (string, error) {
	np := l.expandUser(p)
	if l.o.Host.IsDir(absClean(l.o.Dir, np)) {
		return np, nil
	}
	return "", verr("%q is not an existing directory", p)
}

// pyDirname is os.path.dirname.
func pyDirname(p string) string {
	d, _ := pySplit(p)
	return d
}
