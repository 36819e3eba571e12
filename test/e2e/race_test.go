//go:build e2e && race

package e2e

// raceEnabled builds drover with -race too, so a data race in the daemon
// shows up in its output and fails the suite.
const raceEnabled = true
