package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/drover-sh/drover/internal/pyrepr"
)

// supervisorctl reads only the [supervisorctl] section of the main file:
// it ignores [include], never validates programs, and a file without the
// section is an error. config.Load builds and checks the whole
// configuration (programs, includes, users), which would both cost tens
// of milliseconds on a 500-program file and refuse files supervisorctl
// accepts, so the client reads the section itself with the same INI
// rules (Python's RawConfigParser as supervisord configures it).

// ctlFileSettings is what [supervisorctl] sets; nil fields were absent.
// cacert, cert and key are drover's own (https:// server URLs).
type ctlFileSettings struct {
	serverURL, username, password, prompt, historyFile *string
	cacert, cert, key                                  *string
}

// errNoCtlSection is supervisorctl's complaint about a file without
// [supervisorctl].
var errNoCtlSection = errors.New(".ini file does not include supervisorctl section")

// readCtlSection reads [supervisorctl] from the config file at path.
// Values are expanded as supervisorctl expands them: %(ENV_X)s
// everywhere, %(here)s (the file's directory) in serverurl and
// history_file; unix:// socket paths and history_file are made absolute.
func readCtlSection(path string, environ []string) (ctlFileSettings, error) {
	var st ctlFileSettings
	text, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return st, fmt.Errorf("could not find config file %s", path)
		}
		return st, fmt.Errorf("could not read config file %s", path)
	}
	sec, defaults, found, err := iniSection(string(text), "supervisorctl")
	if err != nil {
		return st, fmt.Errorf("%s: %w", path, err)
	}
	if !found {
		return st, errNoCtlSection
	}
	abs, _ := filepath.Abs(path)
	here := filepath.Dir(abs)
	var env map[string]string // built for the first value that needs it
	get := func(key string, withHere bool) (*string, error) {
		raw, ok := sec[key]
		if !ok {
			raw, ok = defaults[key]
		}
		if !ok {
			return nil, nil
		}
		if !strings.Contains(raw, "%") {
			return &raw, nil
		}
		if env == nil {
			env = map[string]string{}
			for _, kv := range environ {
				if k, v, ok := strings.Cut(kv, "="); ok {
					env["ENV_"+k] = v
				}
			}
		}
		exp := env
		if withHere {
			exp = make(map[string]string, len(env)+1)
			for k, v := range env {
				exp[k] = v
			}
			exp["here"] = here
		}
		v, err := pyExpand(raw, exp, "supervisorctl."+key)
		if err != nil {
			return nil, err
		}
		return &v, nil
	}
	for _, f := range []struct {
		key      string
		withHere bool
		dst      **string
	}{
		{"serverurl", true, &st.serverURL},
		{"prompt", false, &st.prompt},
		{"username", false, &st.username},
		{"password", false, &st.password},
		{"history_file", true, &st.historyFile},
		{"cacert", true, &st.cacert},
		{"cert", true, &st.cert},
		{"key", true, &st.key},
	} {
		if *f.dst, err = get(f.key, f.withHere); err != nil {
			return st, err
		}
	}
	if u := st.serverURL; u != nil {
		if p, ok := strings.CutPrefix(*u, "unix://"); ok {
			v := "unix://" + normalizePath(p)
			st.serverURL = &v
		}
	}
	if h := st.historyFile; h != nil {
		if *h == "" {
			st.historyFile = nil
		} else {
			v := normalizePath(*h)
			st.historyFile = &v
		}
	}
	return st, nil
}

// normalizePath is Python's normpath(abspath(expanduser(p))).
func normalizePath(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			p = home + p[1:]
		}
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return filepath.Clean(p)
}

// iniSection returns the options of every [name] section of an INI text
// (duplicates merge, later keys win) and of [DEFAULT], which Python's
// parser consults for missing keys. Keys are lower-cased; values have
// inline comments (';' or '#' after whitespace) removed; indented lines
// continue the previous value.
func iniSection(text, name string) (sec, defaults map[string]string, found bool, err error) {
	sec, defaults = map[string]string{}, map[string]string{}
	var cur map[string]string // nil: a section we skip
	inSection := false
	var lastKey string
	lastIndent := -1
	n := -1
	for line := range strings.Lines(text) {
		n++
		line = strings.TrimRight(strings.TrimSuffix(line, "\n"), "\r")
		trimmed := strings.TrimSpace(line)
		indent := len(line) - len(strings.TrimLeft(line, " \t"))
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';' {
			// Blank lines inside a continued value are kept by Python
			// but trimmed at the end, which is the same for our keys.
			continue
		}
		value := stripInlineComment(line)
		if inSection && lastKey != "" && indent > lastIndent {
			if cur != nil {
				cur[lastKey] = strings.TrimSpace(cur[lastKey] + "\n" + strings.TrimSpace(value))
			}
			continue
		}
		v := strings.TrimSpace(value)
		if end := strings.LastIndexByte(v, ']'); strings.HasPrefix(v, "[") && end > 1 {
			header := v[1:end]
			inSection, lastKey = true, ""
			switch header {
			case name:
				cur, found = sec, true
			case "DEFAULT":
				cur = defaults
			default:
				cur = nil
			}
			continue
		}
		if !inSection {
			return nil, nil, false, fmt.Errorf("line %d: option outside a section: %q", n+1, trimmed)
		}
		i := strings.IndexAny(v, "=:")
		if i < 0 {
			return nil, nil, false, fmt.Errorf("line %d: not an option: %q", n+1, trimmed)
		}
		key := strings.ToLower(strings.TrimSpace(v[:i]))
		lastKey, lastIndent = key, indent
		if cur != nil {
			cur[key] = strings.TrimSpace(v[i+1:])
		}
	}
	return sec, defaults, found, nil
}

// stripInlineComment cuts the line at the first ';' or '#' that follows
// whitespace.
func stripInlineComment(line string) string {
	for i := 1; i < len(line); i++ {
		if (line[i] == ';' || line[i] == '#') && (line[i-1] == ' ' || line[i-1] == '\t') {
			return line[:i]
		}
	}
	return line
}

// pyExpand applies Python's "%" formatting with a mapping, as
// supervisord does on option values: %(name)s is replaced, %% is '%'.
func pyExpand(s string, exp map[string]string, option string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		rest := s[i+1:]
		switch {
		case strings.HasPrefix(rest, "%"):
			b.WriteByte('%')
			i++
		case strings.HasPrefix(rest, "("):
			end := strings.Index(rest, ")")
			if end < 0 || end+1 >= len(rest) || rest[end+1] != 's' {
				return "", fmt.Errorf("format string %s for %s is badly formatted", pyrepr.Str(s), pyrepr.Str(option))
			}
			key := rest[1:end]
			v, ok := exp[key]
			if !ok {
				names := make([]string, 0, len(exp))
				for k := range exp {
					names = append(names, k)
				}
				sort.Strings(names)
				return "", fmt.Errorf("format string %s for %s contains names (%s) which cannot be expanded. Available names: %s",
					pyrepr.Str(s), pyrepr.Str(option), pyrepr.Str(key), strings.Join(names, ", "))
			}
			b.WriteString(v)
			i += end + 2
		default:
			return "", fmt.Errorf("format string %s for %s is badly formatted", pyrepr.Str(s), pyrepr.Str(option))
		}
	}
	return b.String(), nil
}
