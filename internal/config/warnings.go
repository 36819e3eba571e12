package config

import (
	"sort"
	"strings"
)

// checkKeys warns about unknown sections and options, which supervisord
// ignores silently, with the closest known spelling.
func (l *loader) checkKeys() {
	for _, sec := range l.p.sections {
		kind := sectionKind(sec.name)
		switch kind {
		case "":
			l.e.warn(sec.pos, sec.name, "", "unknown section, ignored by supervisord%s", suggestSection(sec.name))
			continue
		case kindRPC, kindCtlPlugin:
			if kind == kindCtlPlugin {
				l.e.warn(sec.pos, sec.name, "", "supervisorctl plugins are Python code; drover ignores this section")
			}
			continue
		}
		known := knownOptions.get()[kind]
		for _, k := range sec.keys {
			if _, ok := known[k]; !ok {
				l.e.warn(sec.vals[k].pos, sec.name, k, "unknown option, ignored by supervisord%s", suggest(k, known))
			}
		}
	}
	all := map[string]string{}
	for _, k := range []string{kindSupervisord, kindFCGI, kindEventListener, kindGroup, kindUnixServer, kindInetServer, kindCtl, kindInclude} {
		for o := range knownOptions.get()[k] {
			all[o] = ""
		}
	}
	for _, k := range l.p.defaults.keys {
		if _, ok := all[k]; !ok {
			l.e.warn(l.p.defaults.vals[k].pos, "DEFAULT", k, "unknown option, ignored by supervisord%s", suggest(k, all))
		}
	}
}

// suggestSection proposes a known section for a misspelt or mis-cased one.
func suggestSection(name string) string {
	head, tail, colon := strings.Cut(name, ":")
	kinds := []string{kindSupervisord, kindCtl, kindInclude, kindUnixServer, kindInetServer}
	if colon {
		kinds = []string{kindProgram, kindEventListener, kindFCGI, kindGroup, kindRPC, kindCtlPlugin, kindUnixServer, kindInetServer}
	}
	best, bestD := "", 1<<30
	for _, k := range kinds {
		d := editDistance(strings.ToLower(head), k)
		if strings.EqualFold(head, k) {
			d = 0
		}
		if d < bestD {
			best, bestD = k, d
		}
	}
	if bestD > maxTypo(head) {
		return ""
	}
	if colon {
		best += ":" + tail
	}
	if strings.EqualFold(best, name) {
		return "; section names are case-sensitive: did you mean [" + best + "]?"
	}
	return "; did you mean [" + best + "]?"
}

// suggest names the closest known option, if it is close enough.
func suggest(key string, known map[string]string) string {
	names := make([]string, 0, len(known))
	for k := range known {
		names = append(names, k)
	}
	sort.Strings(names)
	best, bestD := "", 1<<30
	for _, k := range names {
		if d := editDistance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	if bestD > maxTypo(key) {
		return ""
	}
	return "; did you mean " + best + "?"
}

func maxTypo(s string) int {
	switch n := len(s); {
	case n <= 3:
		return 1
	case n <= 6:
		return 2
	default:
		return 3
	}
}

// editDistance is the Damerau–Levenshtein (optimal string alignment)
// distance, so a swap like "autorestrat" counts once.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 20
	}
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
