package config

import (
	"path"
	"strings"
)

// Access is who may do what over the control API: drover's own [access:x]
// and [user:x] sections, which supervisord ignores. With no rule, every
// client that can connect (and authenticate) may do everything, as in
// supervisord.
type Access struct {
	Rules []AccessRule
	Users []NetUser
}

// Enabled reports whether any rule exists.
func (a Access) Enabled() bool { return len(a.Rules) > 0 }

// AccessRule is one [access:NAME] section: the users and unix groups it
// names may read, control and administer the programs its patterns match.
//
// A pattern is "*" (everything), a group name glob ("web", "app_*": every
// process of matching groups) or "group:name" globs ("myapp:*",
// "*:worker_?"), in path.Match syntax.
type AccessRule struct {
	Name string
	Pos  Pos
	// Users are user names or uids as written: unix accounts (matched on
	// the unix socket by the caller's uid) and [user:x] network users
	// (matched on inet listeners by the name they authenticated as).
	Users []string
	// GIDs are the unix groups of groups=: a unix caller whose primary or
	// supplementary groups include one matches.
	GIDs []int
	// Read allows status, process info and logs; Control start, stop,
	// restart, signal and reload; Admin update, reread, add and remove,
	// shutdown and daemon restart, clearing logs, sendProcessStdin
	// (daemon-wide ones need "*").
	Read, Control, Admin []string
}

// NetUser is one [user:NAME] section: a user of the network API.
type NetUser struct {
	Name string
	Pos  Pos
	// Password is cleartext, "{SHA}" and a hex SHA-1 (supervisord's
	// forms), or a bcrypt hash ("$2a$...", "$2b$...", "$2y$...").
	Password string
}

// buildAccess reads [user:x] then [access:x] sections. Their options see
// ENV_* only.
func (l *loader) buildAccess() {
	netUsers := map[string]bool{}
	for _, sec := range l.p.sections {
		if sectionKind(sec.name) != kindUser {
			continue
		}
		g := l.getter(sec, kindUser, scope{l.envX})
		name := sec.name[len(kindUser)+1:]
		u := NetUser{Name: name, Pos: sec.pos}
		if err := checkUserName(name); err != nil {
			g.fail("", err)
		}
		if pw, ok := g.str("password"); ok {
			if err := checkPassword(pw); err != nil {
				g.fail("password", err)
			}
			u.Password = pw
		} else {
			g.failf("", "section has no password= value")
		}
		netUsers[name] = true
		l.cfg.Access.Users = append(l.cfg.Access.Users, u)
	}
	for _, sec := range l.p.sections {
		if sectionKind(sec.name) != kindAccess {
			continue
		}
		g := l.getter(sec, kindAccess, scope{l.envX})
		r := AccessRule{Name: sec.name[len(kindAccess)+1:], Pos: sec.pos}
		for _, u := range listValue(g.strOr("users")) {
			if _, err := l.o.Host.LookupUser(u); err != nil && !netUsers[u] {
				g.failf("users", "%s is neither a user of this machine nor a [user:%s] section", strQuote(u), u)
			}
			r.Users = append(r.Users, u)
		}
		for _, grp := range listValue(g.strOr("groups")) {
			gid, err := l.o.Host.LookupGroup(grp)
			if err != nil {
				g.failf("groups", "unknown group %s", strQuote(grp))
			}
			r.GIDs = append(r.GIDs, gid)
		}
		if len(r.Users) == 0 && len(r.GIDs) == 0 {
			g.failf("", "names nobody: set users= or groups=")
		}
		r.Read = l.patterns(g, "read")
		r.Control = l.patterns(g, "control")
		r.Admin = l.patterns(g, "admin")
		l.cfg.Access.Rules = append(l.cfg.Access.Rules, r)
	}
}

// patterns reads a comma-separated list of program patterns.
func (l *loader) patterns(g *getter, key string) []string {
	var out []string
	for _, p := range listValue(g.strOr(key)) {
		group, name, _ := strings.Cut(p, ":")
		if _, err := path.Match(group, ""); err != nil || strings.Count(p, ":") > 1 {
			g.failf(key, "bad pattern %s: use *, a group name glob or group:name globs", strQuote(p))
			continue
		}
		if _, err := path.Match(name, ""); err != nil {
			g.failf(key, "bad pattern %s: use *, a group name glob or group:name globs", strQuote(p))
			continue
		}
		out = append(out, p)
	}
	return out
}

// listValue splits a comma- or space-separated list.
func listValue(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

func checkUserName(n string) error {
	if n == "" || strings.ContainsAny(n, ": \t") {
		return &valueError{msg: "a user name needs at least one character and no ':' or space"}
	}
	return nil
}

// checkPassword refuses a bcrypt-looking value that is not one, which
// would otherwise be compared as cleartext.
func checkPassword(pw string) error {
	if strings.HasPrefix(pw, "$2") && (len(pw) != 60 || !(strings.HasPrefix(pw, "$2a$") || strings.HasPrefix(pw, "$2b$") || strings.HasPrefix(pw, "$2y$"))) {
		return &valueError{msg: "looks like a bcrypt hash but is not one (want $2a$/$2b$/$2y$, 60 characters)"}
	}
	return nil
}
