// Package reload holds the building blocks of zero-downtime reloads:
// sockets the daemon owns for a program's lifetime and passes to every
// generation (Bind, Set, ServerStarterPort), per-generation TCP listeners
// steered during a hand-off (Set.Sibling, Steer, Queued, Retire),
// readiness probes (Prepare, Probe, GenProbe) and what one generation
// inherits (Assemble). The values they work from (sockets=, ready=,
// server=, reload=) are parsed once by internal/config.
//
// Nothing here knows the supervisor: generations are described by Gen (pid
// plus an exit channel the caller closes when its reaper routes the pid's
// exit). The supervisor runs the hand-off itself, on its owner goroutine
// (internal/supervisor/bluegreen.go), through the daemon's Host.
//
// Why: every measured zero-downtime reload (see the project's
// zero-downtime reference) had the supervisor own the listening sockets,
// start the new generation next to the old one on the same sockets, wait
// until the new one was really ready, then stop the old one gracefully.
// A new generation that never gets ready is stopped and the old one keeps
// serving, so a failed reload never costs service.
//
// # Wiring in the daemon
//
//   - When a program with sockets= first spawns: Bind once with its
//     socket_* options; keep the Set until the program is removed (then
//     Close). Restarts and reloads reuse it.
//   - At each spawn of a generation: gp := Prepare(ready) (none without
//     ready=), in := Assemble(set, gp, preset, number); the spawn.Spec gets
//     ExtraFiles = in.Files, ListenFDs = len(in.Files), ListenNames =
//     in.Names and in.Env appended to the environment; the Sink of each
//     captured stream gets gp.LogHook() in its OnLog; after spawn.Start:
//     in.Close() and gp.Started(). gp.Close() when the generation is gone.
//   - Exits: close the generation's Gen.Exited when the reaper reports its
//     pid.
package reload
