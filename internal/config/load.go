package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"
)

// Options carries everything Load takes from the machine, so tests are
// deterministic. Zero values mean "ask the machine".
type Options struct {
	// Env is the daemon's environment as KEY=VALUE (ENV_* expansions, HOME
	// for ~). nil: os.Environ().
	Env []string
	// Hostname is %(host_node_name)s. "": os.Hostname().
	Hostname string
	// Dir is the working directory relative paths resolve against. "": os.Getwd().
	Dir string
	// TempDir is the default childlogdir. "": os.TempDir().
	TempDir string
	// Host answers user, group and directory questions. nil: OSHost{}.
	Host Host
	// Overrides are [supervisord] options from the command line
	// (supervisord's -l, -y, -e, ...): they replace the file's values and
	// are read with the same rules, but not %-expanded, as in supervisord.
	Overrides map[string]string
}

func (o Options) resolve() Options {
	if o.Env == nil {
		o.Env = os.Environ()
	}
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	if o.Dir == "" {
		o.Dir, _ = os.Getwd()
	}
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
	if o.Host == nil {
		o.Host = OSHost{}
	}
	return o
}

// ErrNotFound is returned by Find when no default config file exists.
var ErrNotFound = errors.New("no config file found")

// SearchPaths is the default search order of supervisord 4.2 for argv0,
// then drover's package's /etc/drover/drover.conf.
func SearchPaths(argv0 string) []string {
	here := filepath.Dir(filepath.Dir(argv0))
	return []string{
		filepath.Join(here, "etc", "supervisord.conf"),
		filepath.Join(here, "supervisord.conf"),
		"supervisord.conf",
		"etc/supervisord.conf",
		"/etc/supervisord.conf",
		"/etc/supervisor/supervisord.conf",
		// drover's own package installs its config here; supervisord's
		// paths come first, as supervisord searches them.
		"/etc/drover/drover.conf",
	}
}

// Find returns the first existing file of SearchPaths(argv0), or an error
// wrapping ErrNotFound that lists them.
func Find(argv0 string) (string, error) {
	paths := SearchPaths(argv0)
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w at the default paths (%s); use -c to name one", ErrNotFound, strings.Join(paths, ", "))
}

// Load reads the config file at path with its includes, exactly as
// supervisord 4.2 reads it, and returns it typed and validated. On failure
// the error is an ErrorList (use errors.As for *Error); the Config is nil.
// Warnings never fail a Load: they are in Config.Warnings.
func Load(path string, opts Options) (*Config, error) {
	o := opts.resolve()
	abs := absClean(o.Dir, path)
	l := newLoader(o, abs)
	text, err := l.readFile(abs, Pos{File: path})
	if err != nil {
		return nil, ErrorList{err}
	}
	return l.run(text)
}

// loader is the state of one Load.
type loader struct {
	o     Options
	main  string // absolute main file
	here  string // its directory
	p     *ini
	env   map[string]string // daemon environment
	envX  expansions        // ENV_* names: daemon env, later + [supervisord] environment=
	e     errs
	cfg   *Config
	files []string
	// noIncludes skips reading [include] files (the fuzz target must not
	// wander the filesystem).
	noIncludes bool
	groups     map[string]*Group // by name, to refuse duplicates
	// maxNumprocs bounds numprocs per program (lowered by the fuzz target).
	maxNumprocs int
}

func newLoader(o Options, main string) *loader {
	l := &loader{o: o, main: main, maxNumprocs: maxNumprocs, here: filepath.Dir(main), p: newINI(), env: map[string]string{}, envX: expansions{}}
	for _, kv := range o.Env {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			l.env[k] = v
			l.envX["ENV_"+k] = strVal(v)
		}
	}
	return l
}

// readFile reads one file as Python's text mode would, except that a UTF-8
// byte order mark is skipped (supervisord fails on it).
func (l *loader) readFile(abs string, at Pos) (string, *Error) {
	b, err := os.ReadFile(abs)
	if err != nil {
		return "", &Error{Pos: at, Msg: "cannot read config file: " + errText(err), Err: err}
	}
	if bom := []byte("\xef\xbb\xbf"); bytes.HasPrefix(b, bom) {
		b = b[len(bom):]
		l.e.warn(Pos{File: abs, Line: 1}, "", "", "UTF-8 byte order mark skipped (supervisord 4.2 refuses such a file: \"File contains no section headers\")")
	}
	if !utf8.Valid(b) {
		line := 1
		for i := 0; i < len(b); {
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			if r == '\n' {
				line++
			}
			i += n
		}
		return "", &Error{Pos: Pos{File: abs, Line: line}, Msg: "file is not valid UTF-8"}
	}
	return string(b), nil
}

func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// run parses text as the main file and builds the Config.
func (l *loader) run(text string) (*Config, error) {
	l.files = append(l.files, l.main)
	if bad := l.p.read(l.main, text); len(bad) > 0 {
		return nil, bad
	}
	l.includes()
	if len(l.e.list) > 0 {
		return nil, l.e.list
	}
	sd, ok := l.p.byName[kindSupervisord]
	if !ok {
		l.e.add(Pos{File: l.main}, "", "", "no [supervisord] section (in the file or its includes); supervisord requires one")
		return nil, l.e.list
	}
	l.override(sd)
	l.cfg = &Config{File: l.main}
	l.buildSupervisord(sd)
	l.buildRPC()
	l.buildGroups()
	l.checkDepends()
	l.buildServers()
	l.buildAccess()
	l.buildCtl()
	l.checkKeys()
	if len(l.e.list) > 0 {
		l.e.list = dedupe(l.e.list)
		sort.SliceStable(l.e.list, func(i, j int) bool { return posLess(l.e.list[i].Pos, l.e.list[j].Pos, l.files) })
		return nil, l.e.list
	}
	l.cfg.Files = l.files
	l.cfg.Warnings = dedupeWarnings(l.e.warnings)
	return l.cfg, nil
}

// override puts the command-line options into [supervisord]; a bad value
// is reported at "command line".
func (l *loader) override(sd *iniSection) {
	keys := make([]string, 0, len(l.o.Overrides))
	for k := range l.o.Overrides {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := strings.ReplaceAll(l.o.Overrides[k], "%", "%%")
		sd.set(k, &iniValue{text: v, pos: Pos{File: "command line"}})
	}
}

func posLess(a, b Pos, files []string) bool {
	if a.File != b.File {
		ia, ib := indexOf(files, a.File), indexOf(files, b.File)
		return ia < ib
	}
	return a.Line < b.Line
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return len(list)
}

// includes reads [include] files= the way 4.2 does: only the main file's
// [include] counts; globs are relative to the main file's directory;
// matches are read in sorted order; %(here)s in each file is its own dir.
func (l *loader) includes() {
	inc, ok := l.p.byName[kindInclude]
	if !ok || l.noIncludes {
		return
	}
	l.p.expandHere(l.here)
	v, ok := l.p.get(inc, "files")
	if !ok {
		l.e.add(inc.pos, kindInclude, "", "section has no files= option; name the files to include, e.g. files = conf.d/*.conf")
		return
	}
	exp := scope{l.envX, expansions{"here": strVal(l.here), "host_node_name": strVal(l.o.Hostname)}}
	files, err := pyFormat(v.text, exp)
	if err != nil {
		l.e.addErr(v.pos, kindInclude, "files", err)
		return
	}
	for _, pat := range strings.FieldsFunc(files, pySpace) {
		full := pyJoin(l.here, pat)
		matches := sortedGlob(full)
		if len(matches) == 0 {
			l.e.warn(v.pos, kindInclude, "files", "no file matches %q", full)
			continue
		}
		for _, m := range matches {
			abs := absClean(l.o.Dir, m)
			if st, err := os.Stat(abs); err == nil && !st.Mode().IsRegular() {
				// Python's open() fails on these and RawConfigParser.read skips them.
				l.e.warn(v.pos, kindInclude, "files", "%q is not a regular file; skipped", m)
				continue
			}
			text, rerr := l.readFile(abs, v.pos)
			if rerr != nil {
				if rerr.Pos == v.pos {
					l.e.warn(v.pos, kindInclude, "files", "%s: %s; skipped", m, rerr.Msg)
					continue
				}
				l.e.list = append(l.e.list, rerr)
				return
			}
			l.files = append(l.files, abs)
			if bad := l.p.read(abs, text); len(bad) > 0 {
				l.e.list = append(l.e.list, bad...)
				return
			}
			l.p.expandHere(filepath.Dir(abs))
		}
	}
	for _, k := range inc.keys {
		if inc.vals[k].pos.File != l.main {
			l.e.warn(inc.vals[k].pos, kindInclude, k, "[include] in an included file is ignored (includes do not nest)")
		}
	}
}

// dedupe keeps the first error per option (a program in two groups is
// read twice; a group's priority is read in two contexts).
func dedupe(list ErrorList) ErrorList {
	type key struct {
		pos             Pos
		section, option string
	}
	seen := map[key]bool{}
	out := list[:0]
	for _, e := range list {
		k := key{e.Pos, e.Section, e.Option}
		if !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}

// dedupeWarnings drops repeated warnings (a program in two groups).
func dedupeWarnings(ws []Warning) []Warning {
	seen := map[Warning]bool{}
	out := ws[:0]
	for _, w := range ws {
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}
