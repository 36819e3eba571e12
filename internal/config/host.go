package config

import (
	"errors"
	"os"
	"os/user"
	"strconv"
)

// UserInfo is what config resolves about a user= at parse time.
type UserInfo struct {
	Name    string
	UID     int
	GID     int      // primary group
	Groups  []uint32 // supplementary groups, primary included
	HomeDir string
}

// Host is what Load asks the machine: users, groups, directories. The
// default (OSHost) uses os/user and os.Stat; tests pass their own.
type Host interface {
	// LookupUser resolves a user name, or a numeric uid given as text.
	LookupUser(nameOrID string) (*UserInfo, error)
	// LookupGroup resolves a group name or numeric gid to a gid.
	LookupGroup(nameOrID string) (int, error)
	// IsDir reports whether path is an existing directory.
	IsDir(path string) bool
	// UID is the uid Load runs as (the daemon's).
	UID() int
}

// OSHost is the real machine.
type OSHost struct{}

// ErrUnknownUser and ErrUnknownGroup are the causes of user/group lookup errors.
var (
	ErrUnknownUser  = errors.New("unknown user")
	ErrUnknownGroup = errors.New("unknown group")
)

// LookupUser implements Host with os/user.
func (OSHost) LookupUser(s string) (*UserInfo, error) {
	var u *user.User
	var err error
	if _, perr := strconv.Atoi(s); perr == nil {
		u, err = user.LookupId(s)
	} else {
		u, err = user.Lookup(s)
	}
	if err != nil {
		return nil, ErrUnknownUser
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	info := &UserInfo{Name: u.Username, UID: uid, GID: gid, HomeDir: u.HomeDir}
	if ids, err := u.GroupIds(); err == nil {
		for _, g := range ids {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil {
				info.Groups = append(info.Groups, uint32(n))
			}
		}
	}
	return info, nil
}

// LookupGroup implements Host with os/user.
func (OSHost) LookupGroup(s string) (int, error) {
	var g *user.Group
	var err error
	if _, perr := strconv.Atoi(s); perr == nil {
		g, err = user.LookupGroupId(s)
	} else {
		g, err = user.LookupGroup(s)
	}
	if err != nil {
		return 0, ErrUnknownGroup
	}
	gid, _ := strconv.Atoi(g.Gid)
	return gid, nil
}

// IsDir implements Host with os.Stat.
func (OSHost) IsDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// UID implements Host with os.Getuid.
func (OSHost) UID() int { return os.Getuid() }
