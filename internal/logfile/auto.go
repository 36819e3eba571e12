package logfile

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"golang.org/x/sys/unix"
)

// autoAlphabet is the character set of Python's tempfile names.
const autoAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789_"

// autoRandLen matches Python's mkstemp (8 random characters).
const autoRandLen = 8

// CreateAuto creates a new, empty AUTO child log file
// <childlogdir>/<procname>-<channel>---<identifier>-<random>.log like
// supervisord's mkstemp: created exclusively with mode 0600, so two calls
// never return the same name. channel is "stdout" or "stderr".
func CreateAuto(childlogdir, procname, channel, identifier string) (string, error) {
	prefix := procname + "-" + channel + "---" + identifier + "-"
	var lastErr error
	for range 100 {
		name := filepath.Join(childlogdir, prefix+randomName()+".log")
		// A raw open: an *os.File would try the poller and set a finalizer
		// for a descriptor that is closed at once.
		fd, err := openRetry(name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
		if err == nil {
			if err := unix.Close(fd); err != nil {
				return "", fmt.Errorf("create AUTO log %s: %w", name, err)
			}
			return name, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("create AUTO log in %s: %w", childlogdir, &os.PathError{Op: "open", Path: name, Err: err})
		}
		lastErr = err
	}
	return "", fmt.Errorf("create AUTO log in %s: no free name: %w", childlogdir, lastErr)
}

func randomName() string {
	var b [autoRandLen]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	for i := range b {
		b[i] = autoAlphabet[int(b[i])%len(autoAlphabet)]
	}
	return string(b[:])
}

// autoPattern is supervisord's clear_autochildlogdir pattern, anchored at
// the start only (Python's re.match). The identifier is quoted here, where
// supervisord used it as a regular expression.
func autoPattern(identifier string) *regexp.Regexp {
	return regexp.MustCompile(`^.+?---` + regexp.QuoteMeta(identifier) + `-\S+\.log\.?\d{0,4}`)
}

// CleanupAuto deletes the AUTO logs of a previous run from childlogdir:
// every directory entry whose name matches supervisord's pattern
// `.+?---<identifier>-\S+\.log\.{0,1}\d{0,4}` (so base files and their .N
// backups). It returns the paths removed; a directory that cannot be listed
// or files that cannot be removed give an error (supervisord logs these as
// warnings and goes on), after every other file was tried.
func CleanupAuto(childlogdir, identifier string) ([]string, error) {
	entries, err := os.ReadDir(childlogdir)
	if err != nil {
		return nil, fmt.Errorf("clear childlogdir %s: %w", childlogdir, err)
	}
	re := autoPattern(identifier)
	var removed []string
	var errs []error
	for _, e := range entries {
		if !re.MatchString(e.Name()) {
			continue
		}
		p := filepath.Join(childlogdir, e.Name())
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("clean up %s: %w", p, err))
			continue
		}
		removed = append(removed, p)
	}
	return removed, errors.Join(errs...)
}
