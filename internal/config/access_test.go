package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadText(t *testing.T, body string) (*Config, error) {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "supervisord.conf")
	if err := os.WriteFile(conf, []byte("[supervisord]\n"+body), 0o644); err != nil {
		t.Fatal(err)
	}
	return Load(conf, Options{})
}

func TestAccessSections(t *testing.T) {
	cfg, err := loadText(t, `[user:deploy]
password = $2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy

[access:deployers]
users = deploy, root
groups = root
read = *
control = myapp:*, jobs:worker_?
admin = myapp
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings %v", cfg.Warnings)
	}
	a := cfg.Access
	if !a.Enabled() || len(a.Users) != 1 || a.Users[0].Name != "deploy" || len(a.Rules) != 1 {
		t.Fatalf("access %+v", a)
	}
	r := a.Rules[0]
	if r.Name != "deployers" || strings.Join(r.Users, ",") != "deploy,root" || len(r.GIDs) != 1 || r.GIDs[0] != 0 ||
		strings.Join(r.Control, ",") != "myapp:*,jobs:worker_?" || strings.Join(r.Read, ",") != "*" || r.Admin[0] != "myapp" {
		t.Fatalf("rule %+v", r)
	}
	if cfg, err := loadText(t, ""); err != nil || cfg.Access.Enabled() {
		t.Fatalf("no sections: %+v %v", cfg.Access, err)
	}
}

func TestAccessErrors(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{"[access:x]\nusers = no-such-user-anywhere\n", "users: 'no-such-user-anywhere' is neither a user of this machine nor a [user:no-such-user-anywhere] section"},
		{"[access:x]\ngroups = no-such-group-anywhere\n", "groups: unknown group"},
		{"[access:x]\nread = *\n", "names nobody"},
		{"[access:x]\nusers = root\ncontrol = [\n", "control: bad pattern"},
		{"[access:x]\nusers = root\nread = a:b:c\n", "read: bad pattern"},
		{"[user:x]\n", "no password= value"},
		{"[user:x]\npassword = $2a$short\n", "looks like a bcrypt hash"},
	} {
		_, err := loadText(t, c.body)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "supervisord.conf:") {
			t.Errorf("%q: %v, want %q with file:line", c.body, err, c.want)
		}
	}
}
