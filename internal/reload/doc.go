// Package reload holds the building blocks of zero-downtime reloads: sockets
// the daemon owns for a program's lifetime and passes to every generation
// (ParseSockets, Bind, Set, ServerStarterPort), per-generation TCP
// listeners steered during a hand-off (Set.Sibling, Steer, Queued,
// Retire), readiness probes
// (ParseReady, Probe, GenProbe), per-server presets (Presets,
// LookupPreset), what one generation inherits (Assemble) and the blue/green
// hand-off plan (Plan).
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
//
// # Wiring in the daemon
//
//   - When a program with sockets= is added: ParseSockets (at config load),
//     then Bind once with its socket_* options; keep the Set until the
//     program is removed (then Close). Restarts and reloads reuse it.
//   - At each spawn of a generation: gp := ready.Prepare (nil ready=: no
//     probe), in := Assemble(set, gp, preset, number); the spawn.Spec gets
//     ExtraFiles = in.Files, ListenFDs = len(in.Files), ListenNames =
//     in.Names and in.Env appended to the environment; the Sink of each
//     captured stream gets gp.LogHook() in its OnLog; after spawn.Start:
//     in.Close() and gp.Started(). gp.Close() when the generation is gone.
//   - Exits: close the generation's Gen.Exited when the reaper reports its
//     pid (the owner already routes exits by pid to instances).
//   - A reload (bluegreen): Plan.Run with Ops that spawn through the above,
//     wait with gp.Wait, signal with the preset's GracefulStop and SIGKILL
//     the group; Run blocks, so run it on a worker goroutine and report the
//     result (and each generation change) to the owner.
package reload
