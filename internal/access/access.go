// Package access decides who may do what over the control API: the rules
// of [access:x] sections (config.Access) applied to a caller, a unix peer
// known by its credentials (SO_PEERCRED, which the client cannot forge) or
// a network user known by the name it authenticated as.
package access

import (
	"os"
	"os/user"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/drover-sh/drover/internal/config"
)

// Class is what a call does.
type Class int

// The classes: reading state and logs, controlling processes, and
// administering the daemon and its configuration.
const (
	Read Class = iota
	Control
	Admin
)

func (c Class) String() string {
	switch c {
	case Read:
		return "read"
	case Control:
		return "control"
	}
	return "admin"
}

// Caller is who makes a request.
type Caller struct {
	// Unix is set for a unix socket peer: UID, GID and PID are the
	// kernel's. Otherwise User is the network user (Basic auth), "" for
	// none, and Addr the client's address.
	Unix          bool
	UID, GID, PID int
	User          string
	Addr          string
	// Admin marks a caller with every right: the listener's own
	// username= (the credential supervisord has), or the daemon itself.
	Admin bool
}

// Name names c for the audit log and for refusals.
func (p *Policy) Name(c Caller) string {
	switch {
	case c.Unix:
		name := ""
		if p != nil {
			name = p.users.name(c.UID)
		}
		if name == "" {
			return "uid " + strconv.Itoa(c.UID) + " (pid " + strconv.Itoa(c.PID) + ")"
		}
		return name + " (uid " + strconv.Itoa(c.UID) + ", pid " + strconv.Itoa(c.PID) + ")"
	case c.User != "":
		return c.User + "@" + c.Addr
	case c.Addr != "":
		return "anonymous@" + c.Addr
	}
	return "drover"
}

// Policy is the rule set; a nil Policy or one without rules allows
// everything.
type Policy struct {
	rules []config.AccessRule
	self  int // the daemon's euid, which has every right
	users userDB
}

// New returns the policy of a config's [access:x] sections.
func New(a config.Access) *Policy {
	return &Policy{rules: a.Rules, self: os.Geteuid()}
}

// Enabled reports whether any rule exists (without, everyone may do
// everything).
func (p *Policy) Enabled() bool { return p != nil && len(p.rules) > 0 }

// Rights are what one caller may do.
type Rights struct {
	all   bool        // everything
	globs [3][]string // patterns per Class
}

// All is every right.
var All = Rights{all: true}

// Rights computes what c may do: everything without rules, for root and
// the daemon's user on the unix socket, and for an Admin caller;
// otherwise the union of the rules that name c.
func (p *Policy) Rights(c Caller) Rights {
	if !p.Enabled() || c.Admin || (c.Unix && (c.UID == 0 || c.UID == p.self)) {
		return All
	}
	var r Rights
	for _, rule := range p.rules {
		if !p.matches(rule, c) {
			continue
		}
		r.globs[Read] = append(r.globs[Read], rule.Read...)
		r.globs[Control] = append(r.globs[Control], rule.Control...)
		r.globs[Admin] = append(r.globs[Admin], rule.Admin...)
	}
	// Controlling or administering a program implies seeing it.
	r.globs[Read] = append(r.globs[Read], r.globs[Control]...)
	r.globs[Read] = append(r.globs[Read], r.globs[Admin]...)
	return r
}

// matches reports whether rule names c.
func (p *Policy) matches(rule config.AccessRule, c Caller) bool {
	if !c.Unix {
		return c.User != "" && slices.Contains(rule.Users, c.User)
	}
	name, uid := p.users.name(c.UID), strconv.Itoa(c.UID)
	for _, u := range rule.Users {
		if u == uid || (name != "" && u == name) {
			return true
		}
	}
	if len(rule.GIDs) == 0 {
		return false
	}
	groups := p.users.groups(c.UID, c.GID)
	for _, g := range rule.GIDs {
		if slices.Contains(groups, g) {
			return true
		}
	}
	return false
}

// IsAll reports whether r is every right (no filtering needed).
func (r Rights) IsAll() bool { return r.all }

// Any reports whether r grants anything at all (a caller with no right is
// refused every call, even the harmless ones).
func (r Rights) Any() bool {
	return r.all || len(r.globs[Read]) > 0
}

// Process reports whether r allows class on process name of group.
func (r Rights) Process(class Class, group, name string) bool {
	if r.all {
		return true
	}
	for _, p := range r.globs[class] {
		if matchProcess(p, group, name) {
			return true
		}
	}
	return false
}

// Group reports whether r allows class on every process of group, now and
// later: a pattern that covers the whole group.
func (r Rights) Group(class Class, group string) bool {
	if r.all {
		return true
	}
	for _, p := range r.globs[class] {
		g, n, hasName := strings.Cut(p, ":")
		if p == "*" || ((!hasName || n == "*") && globMatch(g, group)) {
			return true
		}
	}
	return false
}

// Everything reports whether r allows class on every program there is,
// which daemon-wide calls need ("*").
func (r Rights) Everything(class Class) bool {
	return r.all || slices.Contains(r.globs[class], "*")
}

func matchProcess(p, group, name string) bool {
	if p == "*" {
		return true
	}
	g, n, hasName := strings.Cut(p, ":")
	if !hasName {
		return globMatch(g, group)
	}
	return globMatch(g, group) && globMatch(n, name)
}

func globMatch(pattern, s string) bool {
	ok, _ := path.Match(pattern, s) // patterns were checked at load
	return ok
}

// userDB reads the user database once per uid: a caller's name and
// groups for the policy's life (a daemon restart builds a new policy and
// reads them again). The connections' goroutines share it, hence the lock.
type userDB struct {
	mu   sync.Mutex
	byID map[int]*account
}

type account struct {
	name   string
	groups []int
}

func (db *userDB) account(uid int) *account {
	db.mu.Lock()
	defer db.mu.Unlock()
	if a, ok := db.byID[uid]; ok {
		return a
	}
	a := &account{}
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		a.name = u.Username
		if ids, err := u.GroupIds(); err == nil {
			for _, id := range ids {
				if n, err := strconv.Atoi(id); err == nil {
					a.groups = append(a.groups, n)
				}
			}
		}
	}
	if db.byID == nil {
		db.byID = map[int]*account{}
	}
	db.byID[uid] = a
	return a
}

func (db *userDB) name(uid int) string { return db.account(uid).name }

// groups is the primary gid the peer runs with and the supplementary
// groups of its account.
func (db *userDB) groups(uid, gid int) []int {
	return append([]int{gid}, db.account(uid).groups...)
}
