package testenv

import (
	"os"
	"testing"
)

// NeedRoot ends t unless the process runs as root (effective uid 0); why
// says what needs it ("chown needs root"). CI runs as root, so there a
// non-root run fails t (t.Fatalf); otherwise the skip is recorded in the
// skip log and t is skipped with [RootMarker].
func NeedRoot(t testing.TB, why string) {
	t.Helper()
	needRoot(t, os.Geteuid(), why)
}

// needRoot is NeedRoot for a given euid, so the test can take either branch.
func needRoot(t testing.TB, euid int, why string) {
	t.Helper()
	if euid != 0 {
		missing(t, RootMarker, "not root in CI (.ci/run runs as root)", why)
	}
}
