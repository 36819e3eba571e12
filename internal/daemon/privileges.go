package daemon

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// dropPrivileges applies [supervisord] user= (-u) as supervisord does: as
// root it switches to the user (groups, gid, uid); as another user it only
// accepts that same user.
func dropPrivileges(name string) error {
	if name == "" {
		return nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		if _, nerr := strconv.Atoi(name); nerr == nil {
			u, err = user.LookupId(name)
		}
	}
	if err != nil {
		return fmt.Errorf("can't find username %q: %w", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if os.Geteuid() != 0 {
		if uid == os.Geteuid() {
			return nil
		}
		return fmt.Errorf("can't drop privilege as nonroot user")
	}
	gids, err := u.GroupIds()
	if err != nil {
		return fmt.Errorf("could not list the groups of %s: %w", name, err)
	}
	groups := []int{gid}
	for _, g := range gids {
		if n, err := strconv.Atoi(g); err == nil && n != gid {
			groups = append(groups, n)
		}
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("could not set groups of effective user: %w", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("could not set group id of effective user: %w", err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("could not set user id of effective user: %w", err)
	}
	return nil
}
