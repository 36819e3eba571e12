package spawn

import (
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

// EnvInput is everything a child's environment is built from.
type EnvInput struct {
	Daemon      []string // the daemon's environ ("K=V"); LISTEN_* are dropped
	ProcessName string   // SUPERVISOR_PROCESS_NAME
	GroupName   string   // SUPERVISOR_GROUP_NAME
	ServerURL   string   // SUPERVISOR_SERVER_URL; "" leaves it unset
	Global      []Var    // [supervisord] environment=, in file order
	Program     []Var    // the program's environment=, in file order
	User        *User    // user=; nil when the child keeps the daemon's user
	Directory   string   // directory= as written; "" when not set
}

// listenVars describe the daemon's own inherited sockets (socket
// activation); they are never valid for a child.
var listenVars = map[string]bool{"LISTEN_PID": true, "LISTEN_FDS": true, "LISTEN_FDNAMES": true}

// BuildEnv returns a child's environment, sorted by key, one entry per key:
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
// Entries of Daemon without "=" are dropped. BuildEnv never fails.
func BuildEnv(in EnvInput) []string {
	env := make(map[string]string, len(in.Daemon)+8)
	for _, kv := range in.Daemon {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || listenVars[k] {
			continue
		}
		env[k] = v
	}
	env["SUPERVISOR_ENABLED"] = "1"
	env["SUPERVISOR_PROCESS_NAME"] = in.ProcessName
	if in.GroupName != "" {
		env["SUPERVISOR_GROUP_NAME"] = in.GroupName
	}
	if in.ServerURL != "" {
		env["SUPERVISOR_SERVER_URL"] = in.ServerURL
	}
	configured := make(map[string]bool, len(in.Global)+len(in.Program))
	for _, list := range [][]Var{in.Global, in.Program} {
		for _, v := range list {
			env[v.Key] = v.Value
			configured[v.Key] = true
		}
	}
	setDefault := func(k, v string) {
		if !configured[k] {
			env[k] = v
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
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k + "=" + env[k]
	}
	return out
}
