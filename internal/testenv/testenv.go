// Package testenv holds what tests need from the machine beyond the module:
// peers and root. A peer is a program drover is checked against
// (supervisorctl, supervisord, unicorn, puma, gunicorn, starman, python3
// and its modules, /bin/sh) or data (the supervisord config corpus).
//
// A test that lacks one must not pass vacuously. Under CI (see [CI]) it
// fails: CI is expected to provide every peer and to run as root (.ci/run
// installs the programs), so a missing one is a broken contract. Locally
// it is skipped with a message starting with a fixed marker ([PeerMarker],
// [RootMarker]) and appended to the skip log (see [SkipLogEnv]), which
// `make test` and `make e2e` print after the run.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// Markers start every local skip message of this package, and every line
// of the skip log, so the skips can be grepped for.
const (
	PeerMarker = "PEER MISSING"
	RootMarker = "NOT ROOT"
)

// CI reports whether this is a CI run: $CI is set to anything but "",
// "false" or "0" (CI services set CI=true; .ci/run exports it).
func CI() bool {
	switch os.Getenv("CI") {
	case "", "false", "0":
		return false
	}
	return true
}

// MissingPeer ends t because a peer is missing; the message says which
// and how to install it. Under CI it fails t (t.Fatalf); otherwise it
// records the skip in the skip log and skips t with [PeerMarker].
func MissingPeer(t testing.TB, format string, args ...any) {
	t.Helper()
	missing(t, PeerMarker, "peer missing in CI", fmt.Sprintf(format, args...))
}

// LookPath returns the path of the program name found on $PATH, or ends t
// with [MissingPeer]; install says how to get it ("apt-get install supervisor").
func LookPath(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		MissingPeer(t, "%s not installed (%s): %v", name, install, err)
	}
	return p
}

// NeedFile ends t with [MissingPeer] unless path exists: a peer the test
// uses at a fixed path (Debian's /usr/bin/supervisorctl) or its data.
func NeedFile(t testing.TB, path, install string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		MissingPeer(t, "%s not available (%s): %v", path, install, err)
	}
}

// WantFile reports whether path exists, for a test that still checks part
// of its claim without that peer. When it does not exist, under CI t fails
// (t.Errorf) and goes on; otherwise the skipped part is recorded in the
// skip log and in t's log, with [PeerMarker].
func WantFile(t testing.TB, path, install string) bool {
	t.Helper()
	_, err := os.Stat(path)
	if err == nil {
		return true
	}
	msg := fmt.Sprintf("%s not available (%s), part of the test skipped: %v", path, install, err)
	if CI() {
		t.Errorf("peer missing in CI: %s", msg)
		return false
	}
	if err := appendSkip(t.Name(), PeerMarker+": "+msg); err != nil {
		t.Error(err)
	}
	t.Logf("%s: %s", PeerMarker, msg)
	return false
}

// missing fails t under CI and skips it otherwise, recording the skip.
func missing(t testing.TB, marker, inCI, msg string) {
	t.Helper()
	if CI() {
		t.Fatalf("%s: %s", inCI, msg)
	}
	if err := appendSkip(t.Name(), marker+": "+msg); err != nil {
		t.Error(err)
	}
	t.Skipf("%s: %s", marker, msg)
}
