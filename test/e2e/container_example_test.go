//go:build e2e

package e2e

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/drover-sh/drover/internal/testenv"
)

// dockerExample is examples/docker/supervisord.conf with its paths moved
// into a temp dir and web on port; it returns the config's path.
func dockerExample(t *testing.T, port int) string {
	t.Helper()
	testenv.NeedFile(t, "/bin/busybox", "apt-get install busybox")
	b, err := os.ReadFile("../../examples/docker/supervisord.conf")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	www := filepath.Join(dir, "www")
	if err := os.CopyFS(www, os.DirFS("../../examples/docker/www")); err != nil {
		t.Fatal(err)
	}
	conf := strings.NewReplacer("/run/", dir+"/", "/srv/www", www, "0.0.0.0:8000", "127.0.0.1:"+strconv.Itoa(port)).Replace(string(b))
	path := filepath.Join(dir, "supervisord.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The Dockerfile's config, run the way the image runs it (drover as PID 1
// of its own pid namespace, -n): web serves, both programs' lines reach
// drover's stdout/stderr behind their names, `drover status` answers
// through the socket, and TERM (docker stop) stops worker, then web, and
// exits 0.
func TestE2EContainerDockerExample(t *testing.T) {
	port := freePort(t)
	conf := dockerExample(t, port)
	r := startPID1(t, conf)
	r.wait(`INFO supervisord started with pid 1$`)
	r.wait(`success: web entered RUNNING`)
	r.wait(`^worker \| tick \d\d:\d\d:\d\d$`)
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "Served by busybox httpd under drover") {
		t.Fatalf("GET /: %s %q", resp.Status, body)
	}
	if out, err := exec.Command(droverBin, "-c", conf, "status", "web").CombinedOutput(); err != nil || !strings.Contains(string(out), "RUNNING") {
		t.Fatalf("drover status web: %v\n%s", err, out)
	}
	if err := syscall.Kill(r.pid1(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := r.exitCode(); code != 0 {
		t.Fatalf("exit status %d:\n%s", code, r.stdout())
	}
	if w, s := r.index("stopped: worker"), r.index("stopped: web"); w < 0 || s < 0 || w > s {
		t.Fatalf("worker must stop before web:\n%s", r.stdout())
	}
	if !strings.Contains(r.stderr(), "web | ") {
		t.Errorf("busybox httpd's request log (stderr) is not on drover's stderr behind \"web | \":\n%s", r.stderr())
	}
	if strings.Count(r.stdout(), "supervisord started with pid 1") != 1 {
		t.Errorf("the main log is not written exactly once:\n%s", r.stdout())
	}
}

// With web's port taken, web goes FATAL and the example's
// exit_daemon_on=fatal ends the container: worker is stopped, status 1.
func TestE2EContainerDockerExampleFatal(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r := startPID1(t, dockerExample(t, l.Addr().(*net.TCPAddr).Port))
	if code := r.exitCode(); code != 1 {
		t.Fatalf("exit status %d, want 1:\n%s", code, r.stdout())
	}
	if p, w := r.index("CRIT exiting: web entered FATAL and has exit_daemon_on=fatal"), r.index("stopped: worker"); p < 0 || w < p {
		t.Fatalf("want the policy line, then worker stopped:\n%s", r.stdout())
	}
}
