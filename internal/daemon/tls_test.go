package daemon_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/testpki"
)

// The network API over TLS, with the drover CLI: the right CA and a
// password from a file (not argv) get status; another CA, a wrong
// password or plain http do not.
func TestCLIOverTLS(t *testing.T) {
	ca, other := testpki.New(t, "drover-test"), testpki.New(t, "someone-else")
	cert, key := ca.Issue("server", true, time.Now().Add(-time.Minute), time.Hour)
	port := freePort(t)
	inet := fmt.Sprintf("[inet_http_server]\nport = 127.0.0.1:%d\nusername = admin\npassword = s3cret\ntls_cert = %s\ntls_key = %s\n\n", port, cert, key)
	f := start(t, inet+program("web", "sleep", "startsecs = 0"))
	f.waitLine(`success: web entered RUNNING`)
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("s3cret\n"), 0o600)
	wrongFile := filepath.Join(t.TempDir(), "wrong")
	os.WriteFile(wrongFile, []byte("guess\n"), 0o600)
	run := func(args ...string) (string, error) {
		out, err := exec.Command(droverBin, args...).CombinedOutput()
		return string(out), err
	}
	url := fmt.Sprintf("https://127.0.0.1:%d", port)
	out, err := run("-s", url, "-u", "admin", "--password-file", pwFile, "--cacert", ca.PEM, "status")
	if err != nil || !strings.Contains(out, "web") || !strings.Contains(out, "RUNNING") {
		t.Fatalf("status over TLS: %v\n%s", err, out)
	}
	for what, args := range map[string][]string{
		"another CA":     {"-s", url, "-u", "admin", "--password-file", pwFile, "--cacert", other.PEM, "status"},
		"wrong password": {"-s", url, "-u", "admin", "--password-file", wrongFile, "--cacert", ca.PEM, "status"},
		"plain http":     {"-s", fmt.Sprintf("http://127.0.0.1:%d", port), "-u", "admin", "--password-file", pwFile, "status"},
	} {
		if out, err := run(args...); err == nil {
			t.Errorf("%s got in:\n%s", what, out)
		}
	}
	cmd := exec.Command(droverBin, "-s", url, "-u", "admin", "--cacert", ca.PEM, "status")
	cmd.Env = append(os.Environ(), "DROVER_PASSWORD=s3cret")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "RUNNING") {
		t.Errorf("password from $DROVER_PASSWORD: %v\n%s", err, out)
	}
}
