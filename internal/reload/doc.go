// Package reload holds the building blocks of zero-downtime reloads: sockets
// the daemon owns for a program's lifetime and passes to every generation
// (Bind, Set, ServerStarterPort), readiness probes (ParseReady, Probe,
// GenProbe), per-server presets (Presets, LookupPreset), what one generation
// inherits (Assemble) and the blue/green hand-off plan (Plan).
//
// Nothing here knows the supervisor: the plan is driven through callbacks
// and generations are described by Gen (pid plus an exit channel the
// caller closes when its reaper routes the pid's exit), so the daemon can
// run a hand-off from a worker goroutine that reports to its owner.
//
// Why: every measured zero-downtime reload (see the project's
// zero-downtime reference) had the supervisor own the listening sockets,
// start the new generation next to the old one on the same sockets, wait
// until the new one was really ready, then stop the old one gracefully.
// A new generation that never gets ready is stopped and the old one keeps
// serving, so a failed reload never costs service.
package reload
