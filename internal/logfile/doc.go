// Package logfile holds drover's logging to files: rotating log files with
// supervisord's naming and semantics (Writer), AUTO child-log names and their
// clean-up (CreateAuto, CleanupAuto), the capture pump that moves children's
// pipe output into those files (Pump, Sink), reads by offset for the API
// (Read, Tail) and the main log in supervisord's line format
// (Handler, OpenMainLog).
//
// Wiring in the daemon:
//   - At start-up and reload, unless nocleanup: CleanupAuto(childlogdir,
//     identifier). When a group is created: CreateAuto for each AUTO
//     stream, then OpenWriter(path, maxbytes, backups, logger) once per
//     log file; the Writer lives as long as the process config, across
//     restarts of the process.
//   - At each spawn: make a pipe per captured stream (one for stdout when
//     redirect_stderr), give the write end to the child, close the
//     parent's copy of the write end right after the start (otherwise EOF
//     never comes), and Pump.Add the read end. Add takes ownership of it.
//   - Sink callbacks run on the Pump goroutine and must not block: copy
//     the data (OnLog's slice is borrowed) and hand it to the supervisor's
//     owner goroutine through a queue that never blocks the Pump. OnClosed
//     fires once per Add (EOF, error, Remove or Close); a process's output
//     is complete when all its pipes have closed.
//   - Remove when a process is gone but a descendant keeps the pipe open
//     and the output is no longer wanted; SIGUSR2: Reopen every Writer;
//     clearProcessLogs: Clear both Writers; clearLog: Clear the main log's.
package logfile
