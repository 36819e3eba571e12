package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// SkipLogEnv names the variable holding the skip log's path. When it is
// set, every local skip of this package appends one line to that file:
// "<package dir> <test name>: <marker>: <reason>", e.g.
// "internal/config TestCorpus: PEER MISSING: ...". Each line is one
// O_APPEND write, so the test binaries go test runs side by side do not
// interleave their lines.
const SkipLogEnv = "DROVER_SKIP_LOG"

func appendSkip(test, reason string) error {
	path := os.Getenv(SkipLogEnv)
	if path == "" {
		return nil
	}
	line := fmt.Sprintf("%s %s: %s\n", packageDir(), test, strings.ReplaceAll(reason, "\n", " "))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("testenv: $%s: %w", SkipLogEnv, err)
	}
	_, err = f.WriteString(line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("testenv: $%s: %w", SkipLogEnv, err)
	}
	return nil
}

// packageDir names the test's package by its directory relative to the
// module root (go test runs a test binary in its package's directory),
// or by the absolute directory when no go.mod is above it.
func packageDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "?"
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if rel, err := filepath.Rel(dir, wd); err == nil {
				return filepath.ToSlash(rel)
			}
			return wd
		}
		if filepath.Dir(dir) == dir {
			return wd
		}
	}
}
