//go:build e2e

package e2e

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drover-sh/drover/internal/testenv"
)

// TestE2EReloadAppliesUnixHTTPServer: `supervisorctl reload` (the daemon
// restart) applies a changed [unix_http_server] (file, chmod, username,
// password), as supervisord 4.2.5 does: the old socket goes, the new one
// has the new mode and asks for the new credentials. Both daemons run the
// same steps with the real supervisorctl and must agree.
func TestE2EReloadAppliesUnixHTTPServer(t *testing.T) {
	testenv.NeedFile(t, supervisorctlPath, "apt-get install supervisor")
	kinds := []string{"drover"}
	if testenv.WantFile(t, supervisordPath, "apt-get install supervisor") {
		kinds = append(kinds, "supervisord")
	}
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			d := startDaemon(t, kind, config{Bare: true})
			d.waitLog(0, map[string]string{"drover": `supervisord started`, "supervisord": `RPC interface 'supervisor' initialized`}[kind])
			old, err := os.ReadFile(d.conf)
			if err != nil {
				t.Fatal(err)
			}
			oldConf := filepath.Join(d.dir, "old.conf")
			if err := os.WriteFile(oldConf, old, 0o644); err != nil {
				t.Fatal(err)
			}
			changed := strings.Replace(string(old), "[unix_http_server]\nfile=%(here)s/supervisor.sock\n",
				"[unix_http_server]\nfile=%(here)s/moved.sock\nchmod=0770\nusername=admin\npassword=pw\n", 1)
			changed = strings.Replace(changed, "serverurl=unix://%(here)s/supervisor.sock\n",
				"serverurl=unix://%(here)s/moved.sock\nusername=admin\npassword=pw\n", 1)
			if changed == string(old) || strings.Count(changed, "moved.sock") != 2 {
				t.Fatalf("the template changed: %s", old)
			}
			if err := os.WriteFile(d.conf, []byte(changed), 0o644); err != nil {
				t.Fatal(err)
			}
			m := d.mark()
			if r := d.run(supervisorctlPath, []string{"-c", oldConf, "reload"}); r.Code != 0 || !strings.Contains(r.Stdout, "Restarted supervisord") {
				t.Fatalf("reload: %v", r)
			}
			d.waitLog(m, map[string]string{"drover": `control server \[unix_http_server\] on .*moved\.sock`,
				"supervisord": `RPC interface 'supervisor' initialized`}[kind])
			if _, err := os.Lstat(filepath.Join(d.dir, "supervisor.sock")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the old socket is still there: %v", err)
			}
			if st, err := os.Lstat(filepath.Join(d.dir, "moved.sock")); err != nil || st.Mode().Perm() != 0o770 {
				t.Errorf("the new socket: %v %v, want mode 0770", st, err)
			}
			if r := d.ctl("pid"); r.Code != 0 || strings.TrimSpace(r.Stdout) == "" {
				t.Errorf("pid with the new credentials: %v", r)
			}
			noAuth := filepath.Join(d.dir, "noauth.conf")
			text := "[supervisorctl]\nserverurl=unix://" + filepath.Join(d.dir, "moved.sock") + "\n"
			if err := os.WriteFile(noAuth, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			r := d.run(supervisorctlPath, []string{"-c", noAuth, "pid"})
			if r.Code == 0 || !strings.Contains(r.Stdout+r.Stderr, "Server requires authentication") {
				t.Errorf("pid without credentials: %v", r)
			}
			t.Logf("%s: reload moved the socket to moved.sock (0770, credentials asked): %s", kind, strings.TrimSpace(r.Stdout+r.Stderr))
		})
	}
}
