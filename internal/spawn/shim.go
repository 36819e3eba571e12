// Package spawn starts children through a re-exec shim of the drover binary
// and reaps every child of the daemon (a child subreaper).
package spawn

// shimArg is argv[1] that selects the hidden shim mode.
const shimArg = "__drover_spawn_shim"

// IsShim reports whether args select the hidden spawn-shim mode.
func IsShim(args []string) bool { return len(args) > 1 && args[1] == shimArg }

// ShimTarget names the program the shim was asked to run, for messages.
func ShimTarget(args []string) string { return "" }

// ShimMain applies the per-child settings and execs the target. It returns
// only on failure.
func ShimMain(args []string) error { return nil }
