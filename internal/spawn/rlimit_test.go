package spawn

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/drover-sh/drover/internal/testenv"
	"golang.org/x/sys/unix"
)

// raiseIn runs RaiseLimits in a fresh helper started by sh after the given
// ulimit commands (optionally as user u) and returns its output: the infos
// or error, then the /proc/self/limits of a child it spawned.
func raiseIn(t *testing.T, u *User, ulimits, minfds, minprocs string) string {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", ulimits+" && exec \"$0\" __helper raise "+minfds+" "+minprocs, helperPath(t))
	if u != nil {
		cmd.SysProcAttr = sysProcAttrAs(u)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return string(out)
}

func TestRaiseLimits(t *testing.T) {
	testenv.NeedRoot(t, "needs root to raise hard limits and to switch users")
	u := nobody(t)
	t.Run("go raised soft: children pinned to minfds", func(t *testing.T) {
		out := raiseIn(t, nil, "ulimit -S -n 512 && ulimit -H -n 4096", "2048", "0")
		// Without the pin, Go would give children the original 512.
		if s, h := limitsLine(t, out, "Max open files"); s != "2048" || h != "4096" {
			t.Errorf("child NOFILE %s/%s, want 2048/4096\n%s", s, h, out)
		}
	})
	t.Run("hard below minfds raised as root", func(t *testing.T) {
		if !hasCapSysResource() {
			t.Skip("root without CAP_SYS_RESOURCE cannot raise a hard limit (container)")
		}
		out := raiseIn(t, nil, "ulimit -n 512", "2048", "0")
		if !strings.Contains(out, `"Increased RLIMIT_NOFILE limit to 2048"`) {
			t.Errorf("no info line:\n%s", out)
		}
		if s, h := limitsLine(t, out, "Max open files"); s != "2048" || h != "2048" {
			t.Errorf("child NOFILE %s/%s, want 2048/2048", s, h)
		}
	})
	t.Run("enough already: unchanged", func(t *testing.T) {
		out := raiseIn(t, nil, "ulimit -n 3000", "1024", "0")
		if !strings.Contains(out, "infos=[]") {
			t.Errorf("unexpected change:\n%s", out)
		}
		if s, h := limitsLine(t, out, "Max open files"); s != "3000" || h != "3000" {
			t.Errorf("child NOFILE %s/%s, want 3000/3000", s, h)
		}
	})
	t.Run("nproc soft raised", func(t *testing.T) {
		out := raiseIn(t, nil, "ulimit -S -p 100 && ulimit -H -p 5000", "0", "200")
		if !strings.Contains(out, `"Increased RLIMIT_NPROC limit to 200"`) {
			t.Errorf("no info line:\n%s", out)
		}
		if s, h := limitsLine(t, out, "Max processes"); s != "200" || h != "5000" {
			t.Errorf("child NPROC %s/%s, want 200/5000", s, h)
		}
	})
	t.Run("impossible as non-root: supervisord's messages", func(t *testing.T) {
		out := raiseIn(t, u, "ulimit -n 512", "2048", "0")
		want := `err=The minimum number of file descriptors required to run this process is 2048 as per the "minfds" ` +
			`command-line argument or config file setting. The current environment will only allow you to open 512 file descriptors.`
		if !strings.Contains(out, want) {
			t.Errorf("got:\n%s\nwant it to contain:\n%s", out, want)
		}
		out = raiseIn(t, u, "ulimit -p 100", "0", "100000")
		want = `err=The minimum number of available processes required to run this program is 100000 as per the "minprocs" ` +
			`command-line argument or config file setting. The current environment will only allow you to open 100 processes.`
		if !strings.Contains(out, want) {
			t.Errorf("got:\n%s\nwant it to contain:\n%s", out, want)
		}
	})
}

// hasCapSysResource reports whether this process may raise hard limits.
func hasCapSysResource() bool {
	v, err := strconv.ParseUint(procStatus("self")["CapEff"], 16, 64)
	return err == nil && v&(1<<unix.CAP_SYS_RESOURCE) != 0
}
