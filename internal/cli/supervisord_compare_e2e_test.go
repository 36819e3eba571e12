//go:build e2e

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drover-sh/drover/internal/testenv"
)

// TestE2ESupervisordCommandLineMatchesReal runs command lines that end
// before a daemon would start (--version, usage mistakes) through the real
// /usr/bin/supervisord and through drover linked as supervisord, from the
// same directory name: stdout, stderr and the exit status must be equal.
func TestE2ESupervisordCommandLineMatchesReal(t *testing.T) {
	const real = "/usr/bin/supervisord"
	testenv.NeedFile(t, real, "apt-get install supervisor")
	link := filepath.Join(t.TempDir(), "supervisord")
	if err := os.Symlink(droverBinary(t), link); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--version"}, {"-v"}, {"--bogus"}, {"-x"}, {"-c"}, {"--configuration"}, {"extra"}, {"extra", "more"},
	} {
		r := binRun(t, "", real, args...)
		d := binRun(t, "", link, args...)
		d.err = strings.ReplaceAll(d.err, link, real)
		if r != d {
			t.Errorf("supervisord %q:\nreal:   exit %d stdout %q stderr %q\ndrover: exit %d stdout %q stderr %q", args, r.code, r.out, r.err, d.code, d.out, d.err)
		}
	}
}
