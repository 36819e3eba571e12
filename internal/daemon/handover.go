package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/drover-sh/drover/internal/events"
	"github.com/drover-sh/drover/internal/reload"
	"github.com/drover-sh/drover/internal/rpc"
	"github.com/drover-sh/drover/internal/supervisor"
	"golang.org/x/sys/unix"
)

// An in-place upgrade hands the daemon's state to the next image of drover
// across execve: the process table as records, and the fds that must
// outlive the old image (each child's stdin write end and output read
// ends, the programs' sockets, the control listeners), which are the only
// fds whose close-on-exec flag is cleared. The state travels in a memfd
// named by handoverEnv.

// handoverVersion is the format the state is written in; a binary's
// preflight (HandoverProbe) says whether it reads it. Version 2 adds the
// event listeners' protocol state (Events); it is written only when there
// is some, so a binary that reads only 1 can still take over a daemon
// without event listeners.
const (
	handoverVersion       = 1
	handoverVersionEvents = 2
)

// readsHandover reports whether this binary reads format v.
func readsHandover(v int) bool { return v == handoverVersion || v == handoverVersionEvents }

// handoverEnv names the fd of the state in the new image's environment.
const handoverEnv = "DROVER_HANDOVER_FD"

// HandoverProbeArg is the hidden subcommand a new binary's preflight runs:
// `drover __handover-probe VERSION CONFIG` must print HandoverProbeToken
// (and its own version) and exit 0 at once.
const (
	HandoverProbeArg   = "__handover-probe"
	HandoverProbeToken = "drover-handover-ok"
)

// handoverState is what the old image writes and the new one reads.
type handoverState struct {
	Version     int                  `json:"version"`
	FromVersion string               `json:"from_version"`
	Control     []rpc.HandedListener `json:"control"`
	Procs       []handedProc         `json:"procs"`
	// Events is the event dispatcher's state when event listeners run
	// (format 2).
	Events *events.Snapshot `json:"events,omitempty"`
}

// handedProc is one process: its record, its log paths (AUTO names stay),
// its pipes (-1: none) and its program's sockets.
type handedProc struct {
	supervisor.ProcRecord
	Stdin   int             `json:"stdin"`
	Stdout  int             `json:"stdout"`
	Stderr  int             `json:"stderr"`
	Sockets []reload.Handed `json:"sockets,omitempty"`
	// KeeperPid is the pid the fd keeper holds the pipes under: the
	// spawned one, which a followed re-exec replaced as the main pid.
	KeeperPid int `json:"keeper_pid,omitempty"`
}

func (p *handedProc) key() string { return p.Group + ":" + p.Name }

// fds lists every fd the state names.
func (s *handoverState) fds() []int {
	var out []int
	for _, c := range s.Control {
		out = append(out, c.FD)
	}
	for _, p := range s.Procs {
		for _, fd := range []int{p.Stdin, p.Stdout, p.Stderr} {
			if fd >= 0 {
				out = append(out, fd)
			}
		}
		for _, h := range p.Sockets {
			out = append(out, h.FD)
		}
	}
	return out
}

// setCloexec sets or clears close-on-exec on fds.
func setCloexec(fds []int, on bool) error {
	var errs []error
	for _, fd := range fds {
		flag := 0
		if on {
			flag = unix.FD_CLOEXEC
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, flag); err != nil {
			errs = append(errs, fmt.Errorf("fd %d: %w", fd, err))
		}
	}
	return errors.Join(errs...)
}

// writeHandover puts s in a memfd that survives execve and returns its fd.
func writeHandover(s *handoverState) (int, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return -1, err
	}
	fd, err := unix.MemfdCreate("drover-handover", 0) // no MFD_CLOEXEC: the next image reads it
	if err != nil {
		return -1, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "handover")
	if _, err := f.Write(b); err != nil {
		f.Close()
		return -1, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return -1, err
	}
	nfd, err := unix.Dup(fd) // the *os.File's fd would be closed by its finalizer
	f.Close()
	if err != nil {
		return -1, err
	}
	return nfd, nil
}

// readHandover reads the state the previous image left (nil when this
// image was not exec'd by an upgrade) and makes every fd it names
// close-on-exec again, before anything can spawn.
func readHandover() (*handoverState, error) {
	v, ok := os.LookupEnv(handoverEnv)
	if !ok {
		return nil, nil
	}
	os.Unsetenv(handoverEnv) // children must not see it
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("bad %s=%q", handoverEnv, v)
	}
	f := os.NewFile(uintptr(fd), "handover")
	defer f.Close()
	var s handoverState
	if err := json.NewDecoder(f).Decode(&s); err != nil {
		return nil, fmt.Errorf("read the handed-over state: %w", err)
	}
	if !readsHandover(s.Version) {
		return nil, fmt.Errorf("handed-over state has version %d, this binary reads %d and %d", s.Version, handoverVersion, handoverVersionEvents)
	}
	if err := setCloexec(s.fds(), true); err != nil {
		return &s, fmt.Errorf("handed-over fds: %w", err)
	}
	return &s, nil
}
