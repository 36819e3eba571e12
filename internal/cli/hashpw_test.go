package cli

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// pipeWith is a file whose reader holds text.
func pipeWith(t *testing.T, text string) *os.File {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	if _, err := io.WriteString(w, text); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return r
}

func TestHashPasswordPrintsAHashTheDaemonAccepts(t *testing.T) {
	saved := os.Stdin
	t.Cleanup(func() { os.Stdin = saved })
	os.Stdin = pipeWith(t, "correct horse\nignored\n")
	cmd := newHashPasswordCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs([]string{"--cost", "4"})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("%v: %s", err, errb.String())
	}
	hash := strings.TrimSpace(out.String())
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte("correct horse")); err != nil {
		t.Fatalf("%q: %v", hash, err)
	}
}

func TestHashPasswordRefusesAnEmptyPassword(t *testing.T) {
	for _, in := range []string{"", "\n"} {
		if _, err := readNewPassword(pipeWith(t, in), io.Discard); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
	if pw, err := readNewPassword(pipeWith(t, "no newline"), io.Discard); err != nil || pw != "no newline" {
		t.Errorf("got %q, %v", pw, err)
	}
}
