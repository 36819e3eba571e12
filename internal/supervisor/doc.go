// Package supervisor is drover's daemon core: the process table, the
// per-process state machine of supervisord 4.2, groups, ordering and the
// update (reread/apply) diff.
//
// # Shape
//
// One goroutine (Run) owns all state; there is no lock around the table.
// Requests from other goroutines are messages carrying a reply channel
// (model: cloudflare/tableflip's upgrader run loop); process exits (Exited,
// from the daemon's single reaper), spawn results (Host.Spawn runs on a
// worker goroutine) and timer deadlines arrive on the same inbox. Deadlines
// live in one heap behind a single runtime timer, so an idle daemon has no
// timers and nothing polls. Requests that wait (start/stop with wait, group
// starts, ordered stops, update) register a waiter that is re-checked only
// after a message changed some state; a cancelled context removes it.
//
// Every input to a process goes through (*core).handle(p, event), the
// per-process state machine. Each spawn is an instance (a generation) and
// exits are routed by pid to their instance, not compared with one pid
// field: a later reload strategy can run two generations of one process and
// follow a re-exec'd master by re-binding an instance to a new pid.
//
// Nothing here calls the OS: Host is the one seam, every capability named
// (check a command, name log files, bind sockets, spawn, signal, find a
// re-exec'd successor, drain a listener pool). It keeps no per-process
// state: a spawn returns a Child (its stdin, readiness probe) and a bind a
// Sockets (the program's listeners and which generation gets new
// connections); both are owned here, by the instance and the program
// record, and released by the same routing that handles exits.
//
// # Semantics
//
// States, codes, transitions, log texts, result structs and faults follow
// supervisord 4.2 (see the reference, sections 3 and 4.3), with these
// deliberate differences:
//
//   - STARTING->RUNNING happens exactly startsecs after the spawn returned
//     (supervisord checks once per 1 s loop pass).
//   - Crash loops (#1285, #405): an automatic restart of a process whose run
//     lasted less than 1 s is delayed linearly, 1 s, 2 s, 3 s, ...; a run of
//     1 s or more resets the delay. A stop during the delay cancels the
//     restart and moves EXITED to STOPPED.
//   - StopAll (stop all, #217) stops groups in shutdown order: from the
//     highest priority number down, each group after the previous one has
//     stopped. Without wait it replies once the last group was signalled.
//   - A stop arriving while a spawn is in flight moves the process to
//     STOPPING at once and is delivered as soon as the pid is known
//     (supervisord loses it: reference 3.3 "Race"). If that spawn fails the
//     process ends STOPPED, not BACKOFF.
//   - Repeated SIGKILLs are at least 1 s apart even with stopwaitsecs=0.
//   - startProcess without wait replies when the spawn result is known
//     (spawning is asynchronous); StartProcess on a STOPPING process is
//     FAILED (supervisord raises an internal error).
//   - Update stops all affected (changed and removed) groups together rather
//     than group after group, then applies the table change in one step.
//   - ProcessInfo, AllProcessInfo, Groups and State answer in every daemon
//     state; control requests answer SHUTDOWN_STATE during a shutdown or
//     restart (the RPC layer applies supervisord's blanket rule via State).
//   - The "waiting for x to stop" report runs every 2 s while any process is
//     STOPPING, whether or not a client waits; during shutdown "waiting for
//     a, b to die" every 3 s.
//
// # Reloads (drover's own)
//
// ReloadProcess (and ReloadGroup, ReloadAll, one process at a time) reloads
// by config Drover.Reload: restart (stop, start), signal (in place), reexec
// (follow the new master) or bluegreen. A second reload of a process while
// one runs is refused.
//
// Blue/green runs on the owner goroutine like everything else: a second
// instance is spawned beside p.cur and kept in proc.handoff; its readiness
// wait runs on a worker goroutine and reports back as a message; its exit
// is routed by pid to the hand-off, never to the normal exit rules unless
// it already took over. The old instance gets the graceful signal once the
// new one is ready, SIGKILL on its group after the graceful timeout.
//
// With Drover.Ready, STARTING becomes RUNNING when the probe answers
// instead of after startsecs; a probe that fails stops the process and its
// exit counts as a failed start (BACKOFF).
//
// Following a re-exec: when the main pid of a generation marked follow
// (reload = reexec, or its reload signal was sent through signalProcess)
// exits on its own while STARTING or RUNNING (a death by signal is a
// crash, not a re-exec), or in any way while STOPPING, Host.Successor
// looks for a live child of drover in the generation's process group (the
// first pid's: fork keeps it). Meanwhile the process keeps its state and
// exits of unknown pids are parked. A successor becomes the generation's
// new pid ("following re-exec of 'web': pid OLD → NEW"): no state change, no
// respawn, its exit later routed as usual; a stop that came meanwhile is
// delivered to it. Without one, the exit takes the normal path.
package supervisor
