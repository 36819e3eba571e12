package access

import (
	"os"
	"testing"

	"github.com/drover-sh/drover/internal/config"
)

func policy(rules ...config.AccessRule) *Policy {
	return New(config.Access{Rules: rules})
}

// Patterns: "*", a group glob (every process of the group), group:name
// globs; control and admin imply read.
func TestRights(t *testing.T) {
	p := policy(config.AccessRule{Users: []string{"deploy"}, Read: []string{"web"}, Control: []string{"myapp:*", "jobs:worker_?"}},
		config.AccessRule{Users: []string{"deploy"}, Admin: []string{"myapp:*"}})
	r := p.Rights(Caller{User: "deploy", Addr: "10.0.0.1:5"})
	for _, c := range []struct {
		class       Class
		group, name string
		want        bool
	}{
		{Read, "web", "web", true},
		{Read, "web", "other", true},
		{Control, "web", "web", false},
		{Control, "myapp", "puma", true},
		{Read, "myapp", "puma", true}, // control implies read
		{Control, "jobs", "worker_1", true},
		{Control, "jobs", "worker_10", false},
		{Control, "other", "x", false},
		{Admin, "myapp", "puma", true},
		{Admin, "web", "web", false},
	} {
		if got := r.Process(c.class, c.group, c.name); got != c.want {
			t.Errorf("%v %s:%s = %v, want %v", c.class, c.group, c.name, got, c.want)
		}
	}
	if !r.Group(Control, "myapp") || r.Group(Control, "jobs") || !r.Group(Read, "web") {
		t.Error("group rights: myapp:* covers myapp, jobs:worker_? does not cover jobs, web covers web")
	}
	if r.Everything(Read) || r.Everything(Control) || !r.Any() {
		t.Error("everything: none here, but some right")
	}
	if n := p.Rights(Caller{User: "intruder", Addr: "x"}); n.Any() || n.Process(Read, "web", "web") {
		t.Error("a caller no rule names has nothing")
	}
	if !p.Rights(Caller{Unix: true, UID: 0}).IsAll() || !p.Rights(Caller{Unix: true, UID: os.Geteuid()}).IsAll() || !p.Rights(Caller{Admin: true}).IsAll() {
		t.Error("root, the daemon's user and the listener's own user have every right")
	}
	if !policy().Rights(Caller{User: "anyone"}).IsAll() || !(*Policy)(nil).Rights(Caller{}).IsAll() {
		t.Error("without rules every caller has every right")
	}
	if e := policy(config.AccessRule{Users: []string{"ops"}, Read: []string{"*"}}).Rights(Caller{User: "ops"}); !e.Everything(Read) || e.Everything(Control) {
		t.Error(`read = * is read on everything, nothing else`)
	}
}

// A unix caller matches by uid (as a number or its account's name) or by
// one of its groups.
func TestUnixCallers(t *testing.T) {
	p := policy(config.AccessRule{Users: []string{"4242"}, Read: []string{"a"}},
		config.AccessRule{Users: []string{"nobody"}, Read: []string{"b"}},
		config.AccessRule{GIDs: []int{7777}, Read: []string{"c"}})
	if !p.Rights(Caller{Unix: true, UID: 4242, GID: 1}).Process(Read, "a", "a") {
		t.Error("uid as a number")
	}
	nobody := Caller{Unix: true, UID: 65534, GID: 65534}
	if p.users.name(65534) == "nobody" && !p.Rights(nobody).Process(Read, "b", "b") {
		t.Error("uid by its account's name")
	}
	if !p.Rights(Caller{Unix: true, UID: 4243, GID: 7777}).Process(Read, "c", "c") {
		t.Error("primary gid")
	}
	if got := p.Name(Caller{Unix: true, UID: 4242, PID: 9}); got != "uid 4242 (pid 9)" {
		t.Errorf("name %q", got)
	}
	if got := p.Name(Caller{User: "deploy", Addr: "10.0.0.1:5"}); got != "deploy@10.0.0.1:5" {
		t.Errorf("name %q", got)
	}
}
