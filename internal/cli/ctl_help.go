package cli

import (
	"fmt"
	"strings"
)

// verbOption is one option of a top-level client verb, for its help and
// its shell completion.
type verbOption struct {
	flags string // "-c, --configuration" or "    --json"
	arg   string // "FILE"; "" for a switch
	help  string
}

// ctlGlobalOptions are the client options every `drover VERB` takes,
// before or after the verb.
var ctlGlobalOptions = []verbOption{
	{"-c, --configuration", "FILE", "configuration file ([supervisorctl] section; default: supervisord's search order)"},
	{"-s, --serverurl", "URL", "URL of the daemon's control server (default: from the configuration)"},
	{"-u, --username", "USER", "user name for the control server"},
	{"-p, --password", "PASS", "password for the control server (visible in ps: prefer --password-file)"},
	{"    --password-file", "FILE", "read the password from FILE (or set $DROVER_PASSWORD)"},
	{"    --cacert", "FILE", "for an https:// server URL, the CA that signed its certificate"},
	{"    --cert", "FILE", "client certificate for mutual TLS (with --key)"},
	{"    --key", "FILE", "client certificate's key"},
}

// verbOptions lists v's options: its own, --json where it takes it, the
// global ones, and -h.
func verbOptions(v *ctlVerb) []verbOption {
	var out []verbOption
	switch v.name {
	case "status":
		out = append(out, verbOption{"    --usage", "", "also show CPU and RSS of each program's process tree"})
	case "tail", "maintail":
		out = append(out, verbOption{"-f", "", "follow the log (Ctrl-C to exit)"},
			verbOption{"-N", "", "the last N bytes (e.g. -100)"})
	case "reload":
		out = append(out, verbOption{"    --batch", "N", "roll N processes at a time"},
			verbOption{"    --progress", "", "show each hand-off as it happens (the default on a terminal)"})
	case "events":
		out = append(out, verbOption{"-f, --follow", "", "follow every event (Ctrl-C to exit)"})
	}
	if v.json {
		out = append(out, verbOption{"    --json", "", "print the answer as JSON (see drover ctl -h)"})
	}
	out = append(out, ctlGlobalOptions...)
	return append(out, verbOption{"-h, --help", "", "show this help"})
}

// names returns the option's spellings ("-c", "--configuration").
func (o verbOption) names() []string {
	var out []string
	for _, f := range strings.Split(o.flags, ",") {
		if f = strings.TrimSpace(f); f != "" && f != "-N" {
			out = append(out, f)
		}
	}
	return out
}

// verbHelp is the help of `drover VERB -h` and `drover help VERB` (one
// text for both): what it does, supervisorctl's lines for the verb
// (drover's own where the top-level verb does more), usage and options.
func verbHelp(v *ctlVerb) string {
	var b strings.Builder
	b.WriteString(v.short + ".\n\n")
	for _, l := range v.nativeHelp() {
		b.WriteString(l + "\n")
	}
	fmt.Fprintf(&b, "\nUsage:\n  drover %s [options] %s\n\nOptions:\n", v.name, v.args)
	for _, o := range verbOptions(v) {
		left := o.flags
		if o.arg != "" {
			left += " " + o.arg
		}
		fmt.Fprintf(&b, "  %-26s %s\n", left, o.help)
	}
	b.WriteString("\nOptions may come before or after the verb (drover -c FILE status).\n")
	return b.String()
}
