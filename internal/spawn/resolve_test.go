package spawn

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drover-sh/drover/internal/testenv"
)

func mkfile(t *testing.T, path string, mode os.FileMode) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // umask-proof
		t.Fatal(err)
	}
	return path
}

func TestResolve(t *testing.T) {
	d := t.TempDir()
	a, b, c := filepath.Join(d, "a"), filepath.Join(d, "b"), filepath.Join(d, "c")
	mkfile(t, filepath.Join(a, "tool"), 0o755)
	mkfile(t, filepath.Join(b, "tool"), 0o755)
	mkfile(t, filepath.Join(b, "only-b"), 0o755)
	mkfile(t, filepath.Join(c, "plain"), 0o644)
	if err := os.MkdirAll(filepath.Join(c, "dirname"), 0o755); err != nil {
		t.Fatal(err)
	}
	mkfile(t, filepath.Join(b, "dirname"), 0o755) // shadowed by c/dirname
	mkfile(t, filepath.Join(d, "it's"), 0o644)

	tests := []struct {
		name        string
		argv0, prog string
		haveProg    bool
		daemon      string
		want        string
		err         error
		msg         string
	}{
		{name: "slash as given", argv0: filepath.Join(a, "tool"), want: filepath.Join(a, "tool")},
		{name: "slash missing", argv0: "/nonexistent/x", err: ErrNotFound,
			msg: "can't find command '/nonexistent/x'"},
		{name: "slash dir", argv0: a, err: ErrNotExecutable, msg: "command at '" + a + "' is a directory"},
		{name: "slash no x bit", argv0: filepath.Join(c, "plain"), err: ErrNotExecutable,
			msg: "command at '" + filepath.Join(c, "plain") + "' is not executable"},
		{name: "program PATH first", argv0: "tool", prog: b + ":" + a, haveProg: true, daemon: a,
			want: filepath.Join(b, "tool")},
		{name: "program PATH wins over daemon", argv0: "only-b", prog: a + ":" + b, haveProg: true, daemon: "/bin",
			want: filepath.Join(b, "only-b")},
		{name: "daemon PATH", argv0: "tool", daemon: a + ":" + b, want: filepath.Join(a, "tool")},
		{name: "trailing slash kept", argv0: "tool", daemon: a + "/", want: a + "/tool"},
		{name: "no cleaning", argv0: "tool", daemon: a + "/../b", want: a + "/../b/tool"},
		{name: "default PATH", argv0: "sh", want: "/bin/sh"},
		{name: "program PATH without it", argv0: "sh", prog: a, haveProg: true, daemon: "/bin",
			err: ErrNotFound, msg: "can't find command 'sh'"},
		{name: "empty program PATH is cwd", argv0: "sh", prog: "", haveProg: true, daemon: "/bin",
			err: ErrNotFound, msg: "can't find command 'sh'"},
		{name: "first stat wins even a dir", argv0: "dirname", daemon: c + ":" + b, err: ErrNotExecutable,
			msg: "command at '" + filepath.Join(c, "dirname") + "' is a directory"},
		{name: "not found", argv0: "no-such-tool", daemon: a, err: ErrNotFound,
			msg: "can't find command 'no-such-tool'"},
		{name: "python repr quotes", argv0: filepath.Join(d, "it's"), err: ErrNotExecutable,
			msg: `command at "` + filepath.Join(d, "it's") + `" is not executable`},
		{name: "empty", argv0: "", err: ErrBadCommand, msg: "command is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Resolve(tc.argv0, tc.prog, tc.haveProg, tc.daemon)
			if tc.err == nil {
				if err != nil || got != tc.want {
					t.Fatalf("got %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			var re *ResolveError
			if !errors.Is(err, tc.err) || !errors.As(err, &re) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if err.Error() != tc.msg {
				t.Errorf("message %q, want %q", err, tc.msg)
			}
		})
	}
}

func TestResolveNoPermission(t *testing.T) {
	testenv.NeedRoot(t, "needs root to run the check as another user")
	u := nobody(t)
	d := worldDir(t)
	f := mkfile(t, filepath.Join(d, "rootonly"), 0o700) // x bit set, but only for root
	// Resolve runs as the daemon's user: run it as nobody in a helper.
	cmd := exec.Command(helperPath(t), "__helper", "resolve", f)
	cmd.SysProcAttr = sysProcAttrAs(u)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if want := "no permission to run command '" + f + "'"; strings.TrimSpace(string(out)) != want {
		t.Errorf("got %q, want %q", out, want)
	}
}
