package spawn

import (
	"slices"
	"sort"
	"strings"
)

// Var is one KEY=value pair of an environment= option.
type Var struct {
	Key, Value string
}

// User is the account a child runs as (user=), resolved by the caller.
type User struct {
	Name string // login name, for USER and LOGNAME
	Home string // home directory, for HOME
	UID  uint32
	GID  uint32
	// Groups are the supplementary groups. The shim calls setgroups with
	// GID first followed by these (duplicates of GID dropped), as
	// supervisord does.
	Groups []uint32
}

// EnvInput is everything a child's environment is built from besides the
// daemon's environ (an EnvBase).
type EnvInput struct {
	ProcessName string // SUPERVISOR_PROCESS_NAME
	GroupName   string // SUPERVISOR_GROUP_NAME
	ServerURL   string // SUPERVISOR_SERVER_URL; "" leaves it unset
	Global      []Var  // [supervisord] environment=, in file order
	Program     []Var  // the program's environment=, in file order
	User        *User  // user=; nil when the child keeps the daemon's user
	Directory   string // directory= as written; "" when not set
}

// listenVar reports whether k describes the daemon's own inherited sockets
// (socket activation); such variables are never valid for a child. A switch,
// not a map, so that nothing is built at package init.
func listenVar(k string) bool {
	switch k {
	case "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES":
		return true
	}
	return false
}

// EnvBase is step 1 of Build done once: the daemon's environ filtered,
// one entry per key (the last wins) and sorted by key. It is read-only
// afterwards, so one EnvBase serves concurrent Builds.
type EnvBase struct {
	kvs  []string // "K=V", sorted by K
	keys []string // K of kvs[i]
}

// NewEnvBase prepares daemon (an environ, "K=V" entries) for Build.
func NewEnvBase(daemon []string) *EnvBase {
	last := make(map[string]int, len(daemon))
	for i, kv := range daemon {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" || listenVar(k) {
			continue
		}
		last[k] = i
	}
	b := &EnvBase{kvs: make([]string, 0, len(last)), keys: make([]string, 0, len(last))}
	for k := range last {
		b.keys = append(b.keys, k)
	}
	sort.Strings(b.keys)
	for _, k := range b.keys {
		b.kvs = append(b.kvs, daemon[last[k]])
	}
	return b
}

// Build returns a child's environment, sorted by key, one entry per key:
//
//  1. the daemon's environ (minus LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES);
//  2. SUPERVISOR_ENABLED=1, SUPERVISOR_PROCESS_NAME, SUPERVISOR_GROUP_NAME
//     (when given) and SUPERVISOR_SERVER_URL (when given);
//  3. [supervisord] environment=, then the program's environment= (the
//     program wins; either may override the SUPERVISOR_* variables, as in
//     supervisord's code);
//  4. with User: HOME, USER and LOGNAME from the user unless step 3 set
//     them (supervisord keeps the daemon's values: a documented
//     difference);
//  5. with Directory: PWD = Directory as written (not the resolved path,
//     so a Capistrano "current" symlink stays visible), unless step 3 set
//     PWD.
//
// Entries of the daemon's environ without "=" are dropped; Build never
// fails. The base's entries are shared, not copied: only the variables of
// steps 2-5 are formatted, and no map is built.
func (b *EnvBase) Build(in EnvInput) []string {
	type kv struct{ k, v string }
	over := make([]kv, 0, 4+len(in.Global)+len(in.Program)+4)
	over = append(over, kv{"SUPERVISOR_ENABLED", "1"}, kv{"SUPERVISOR_PROCESS_NAME", in.ProcessName})
	if in.GroupName != "" {
		over = append(over, kv{"SUPERVISOR_GROUP_NAME", in.GroupName})
	}
	if in.ServerURL != "" {
		over = append(over, kv{"SUPERVISOR_SERVER_URL", in.ServerURL})
	}
	for _, list := range [][]Var{in.Global, in.Program} {
		for _, v := range list {
			over = append(over, kv{v.Key, v.Value})
		}
	}
	configured := func(k string) bool {
		for _, list := range [][]Var{in.Global, in.Program} {
			for _, v := range list {
				if v.Key == k {
					return true
				}
			}
		}
		return false
	}
	setDefault := func(k, v string) {
		if !configured(k) {
			over = append(over, kv{k, v})
		}
	}
	if in.User != nil {
		setDefault("HOME", in.User.Home)
		setDefault("USER", in.User.Name)
		setDefault("LOGNAME", in.User.Name)
	}
	if in.Directory != "" {
		setDefault("PWD", in.Directory)
	}
	// Later entries win: a stable sort keeps them last among equal keys.
	slices.SortStableFunc(over, func(x, y kv) int { return strings.Compare(x.k, y.k) })
	out := make([]string, 0, len(b.kvs)+len(over))
	i := 0
	for j, o := range over {
		if j+1 < len(over) && over[j+1].k == o.k {
			continue // overridden by a later one
		}
		for i < len(b.keys) && b.keys[i] < o.k {
			out = append(out, b.kvs[i])
			i++
		}
		if i < len(b.keys) && b.keys[i] == o.k {
			i++ // the daemon's value is overridden
		}
		out = append(out, o.k+"="+o.v)
	}
	return append(out, b.kvs[i:]...)
}
