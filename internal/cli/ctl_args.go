package cli

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/pyrepr"
)

// ctlFlags are the client's command-line settings; nil means not given.
type ctlFlags struct {
	config    *string
	serverURL *string
	username  *string
	password  *string
	history   *string
	// drover's own: https:// trust and mutual TLS, and a password that
	// is not on the command line (visible in ps).
	cacert, cert, key, passwordFile *string
	interactive                     bool
	help                            bool
	json                            bool
	native                          bool // drover's own command line (`drover status`), not supervisorctl's
}

// ctlOption describes one option of supervisorctl's command line.
type ctlOption struct {
	short, long string
	takesValue  bool
	set         func(f *ctlFlags, v string)
}

func strp(s string) *string { return &s }

var ctlOptionTable = []ctlOption{
	{"c", "configuration", true, func(f *ctlFlags, v string) { f.config = strp(v) }},
	{"s", "serverurl", true, func(f *ctlFlags, v string) { f.serverURL = strp(v) }},
	{"u", "username", true, func(f *ctlFlags, v string) { f.username = strp(v) }},
	{"p", "password", true, func(f *ctlFlags, v string) { f.password = strp(v) }},
	{"r", "history_file", true, func(f *ctlFlags, v string) { f.history = strp(v) }},
	{"", "cacert", true, func(f *ctlFlags, v string) { f.cacert = strp(v) }},
	{"", "cert", true, func(f *ctlFlags, v string) { f.cert = strp(v) }},
	{"", "key", true, func(f *ctlFlags, v string) { f.key = strp(v) }},
	{"", "password-file", true, func(f *ctlFlags, v string) { f.passwordFile = strp(v) }},
	{"i", "interactive", false, func(f *ctlFlags, _ string) { f.interactive = true }},
	{"h", "help", false, func(f *ctlFlags, _ string) { f.help = true }},
}

// usageError is a command-line mistake: printed as supervisorctl prints
// it ("Error: …" and "For help, use PROG -h" on stderr), exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

func lookupOption(name string, long bool) (ctlOption, bool) {
	for _, o := range ctlOptionTable {
		if (long && (o.long == name || (o.long == "history_file" && name == "history-file"))) || (!long && o.short != "" && o.short == name) {
			return o, true
		}
	}
	return ctlOption{}, false
}

// parseGetopt parses supervisorctl's options as Python's getopt does:
// options come first; the first word that is not an option (or "--")
// starts the command. Bundled short options (-ic FILE, -cFILE) work.
func parseGetopt(args []string) (ctlFlags, []string, error) {
	var f ctlFlags
	seen := map[string]bool{}
	set := func(o ctlOption, v string) error {
		key := o.short
		if key == "" {
			key = "-" + o.long
		}
		if o.takesValue && seen[key] {
			return usagef("conflicting command line option '-%s'", key)
		}
		seen[key] = true
		if o.long == "serverurl" {
			if err := checkURL(v); err != nil {
				return usagef("invalid value for -s %s: %v", pyrepr.Str(v), err)
			}
		}
		o.set(&f, v)
		return nil
	}
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		if name, ok := strings.CutPrefix(a, "--"); ok {
			name, val, hasVal := strings.Cut(name, "=")
			o, ok := lookupOption(name, true)
			if !ok {
				return f, nil, usagef("option --%s not recognized", name)
			}
			switch {
			case o.takesValue && !hasVal:
				if i+1 >= len(args) {
					return f, nil, usagef("option --%s requires argument", name)
				}
				i++
				val = args[i]
			case !o.takesValue && hasVal:
				return f, nil, usagef("option --%s must not have an argument", name)
			}
			if err := set(o, val); err != nil {
				return f, nil, err
			}
			continue
		}
		for j := 1; j < len(a); j++ {
			o, ok := lookupOption(a[j:j+1], false)
			if !ok {
				return f, nil, usagef("option -%s not recognized", a[j:j+1])
			}
			if !o.takesValue {
				if err := set(o, ""); err != nil {
					return f, nil, err
				}
				continue
			}
			val := a[j+1:]
			if val == "" {
				if i+1 >= len(args) {
					return f, nil, usagef("option -%s requires argument", o.short)
				}
				i++
				val = args[i]
			}
			if err := set(o, val); err != nil {
				return f, nil, err
			}
			break
		}
	}
	return f, args[i:], nil
}

// parseVerbArgs takes the client's global options (-c, -s, -u, -p) and
// --json / -h from anywhere among a verb's words, so both
// `drover status -c FILE web` and `drover -c FILE status web` work.
// Other words, dashed ones included (tail -f, tail -100), stay
// positional in order; "--" ends option parsing. base holds options
// already given before the verb.
func parseVerbArgs(args []string, base ctlFlags, allowGlobal bool) (ctlFlags, []string, error) {
	f := base
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		switch a {
		case "--json":
			f.json = true
			continue
		case "-h", "--help":
			f.help = true
			continue
		}
		var o ctlOption
		var val string
		var found, inline bool
		if name, ok := strings.CutPrefix(a, "--"); ok {
			name, v, hasVal := strings.Cut(name, "=")
			o, found = lookupOption(name, true)
			val, inline = v, hasVal
		} else if len(a) >= 2 && a[0] == '-' {
			o, found = lookupOption(a[1:2], false)
			val, inline = a[2:], len(a) > 2
		}
		if !found || !o.takesValue || o.short == "r" {
			pos = append(pos, a)
			continue
		}
		if !allowGlobal {
			return f, nil, usagef("option %s is only accepted on the command line", a)
		}
		if !inline {
			if i+1 >= len(args) {
				return f, nil, usagef("option %s requires argument", a)
			}
			i++
			val = args[i]
		}
		if o.long == "serverurl" {
			if err := checkURL(val); err != nil {
				return f, nil, usagef("invalid value for -s %s: %v", pyrepr.Str(val), err)
			}
		}
		o.set(&f, val)
	}
	return f, pos, nil
}

// checkURL is supervisorctl's URL check: a scheme and a host or path.
func checkURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || (u.Host == "" && u.Path == "" && u.Opaque == "") {
		return fmt.Errorf("value %s is not a URL", pyrepr.Str(v))
	}
	return nil
}

// ctlOptions are the settled client settings.
type ctlOptions struct {
	serverURL   string
	username    string
	password    string
	rpcAuth     bool // username and password both given (supervisorctl's rule)
	prompt      string
	historyFile string
	// cacert, cert and key configure https:// (drover's own).
	cacert, cert, key string
	interactive       bool
	json              bool
	// native: `drover VERB`, which may use drover's own methods and show
	// drover's own information; otherwise the output is supervisorctl's.
	native bool
}

// defaultServerURL is where supervisorctl connects without a config.
const defaultServerURL = "http://localhost:9001"

// resolveCtlOptions merges the command line over the [supervisorctl]
// section of the config file (-c, or the first file of supervisord's
// search order for argv0) over the defaults. No file at all is fine: the
// client then uses http://localhost:9001. A file without
// [supervisorctl], or one that cannot be read, is a usage error.
func resolveCtlOptions(f ctlFlags, argv0 string) (ctlOptions, error) {
	o := ctlOptions{serverURL: defaultServerURL, prompt: "supervisor", interactive: f.interactive, json: f.json, native: f.native}
	path := ""
	if f.config != nil {
		path = *f.config
	} else {
		for _, p := range config.SearchPaths(argv0) {
			if _, err := os.Stat(p); err == nil {
				path = p
				break
			}
		}
	}
	var user, pass *string
	if path != "" {
		st, err := readCtlSection(path, os.Environ())
		if err != nil {
			return o, &usageError{err.Error()}
		}
		if st.serverURL != nil {
			o.serverURL = *st.serverURL
		}
		if st.prompt != nil {
			o.prompt = *st.prompt
		}
		if st.historyFile != nil {
			o.historyFile = *st.historyFile
		}
		user, pass = st.username, st.password
		for _, kv := range []struct{ dst, src *string }{{&o.cacert, st.cacert}, {&o.cert, st.cert}, {&o.key, st.key}} {
			if kv.src != nil {
				*kv.dst = *kv.src
			}
		}
	}
	if f.serverURL != nil {
		o.serverURL = *f.serverURL
	}
	if f.username != nil {
		user = f.username
	}
	if f.password != nil {
		pass = f.password
	}
	if f.history != nil {
		o.historyFile = normalizePath(*f.history)
	}
	for _, kv := range []struct{ dst, src *string }{{&o.cacert, f.cacert}, {&o.cert, f.cert}, {&o.key, f.key}} {
		if kv.src != nil {
			*kv.dst = *kv.src
		}
	}
	// A password without argv: --password-file, else $DROVER_PASSWORD.
	if f.password == nil && f.passwordFile != nil {
		b, err := os.ReadFile(*f.passwordFile)
		if err != nil {
			return o, usagef("cannot read --password-file: %v", err)
		}
		p := strings.TrimRight(string(b), "\r\n")
		pass = &p
	} else if f.password == nil && os.Getenv("DROVER_PASSWORD") != "" {
		p := os.Getenv("DROVER_PASSWORD")
		pass = &p
	}
	if user != nil {
		o.username = *user
	}
	if pass != nil {
		o.password = *pass
	}
	o.rpcAuth = user != nil && pass != nil
	return o, nil
}
