package daemon_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Users and rules apply when the config is read: an edited rule is in
// force after `reread` (and so `update`), not only after a HUP or a
// restart.
func TestAccessRulesApplyOnReread(t *testing.T) {
	port := freePort(t)
	inet := fmt.Sprintf("[inet_http_server]\nport = 127.0.0.1:%d\n\n", port)
	rules := func(right string) string {
		return inet + program("web", "sleep", "startsecs = 0") +
			"\n[user:deploy]\npassword = pw\n\n[access:deploy]\nusers = deploy\n" + right + " = web\n"
	}
	f := start(t, rules("read"))
	f.waitLine(`success: web entered RUNNING`)
	stop := func() (string, error) {
		cmd := exec.Command(droverBin, "-s", fmt.Sprintf("http://127.0.0.1:%d", port), "-u", "deploy", "stop", "web")
		cmd.Env = append(os.Environ(), "DROVER_PASSWORD=pw")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := stop(); err == nil || !strings.Contains(out, "access denied") {
		t.Fatalf("deploy with read only stopped web: %v\n%s", err, out)
	}
	f.writeConfig(f.config(rules("control")))
	f.call("supervisor.reloadConfig")
	if out, err := stop(); err != nil || !strings.Contains(out, "web: stopped") {
		t.Fatalf("deploy after the reread granted control: %v\n%s", err, out)
	}
}
