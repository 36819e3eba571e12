package daemon

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/reload"
	"github.com/drover-sh/drover/internal/supervisor"
	"golang.org/x/sys/unix"
)

// handedSet is what the previous image handed over, by "group:name", for
// the first supervisor to take: Logs keeps the AUTO log names, Bind the
// program's sockets, Adopt the pipes. Each entry's parts are taken once.
type handedSet struct {
	mu    sync.Mutex
	procs map[string]*handedProc
	// listeners is the pid of each event listener whose protocol state
	// was handed over, by "group:name" (an upgrade's; a crash hands none).
	listeners map[string]int
}

func newHandedSet(st *handoverState) *handedSet {
	h := &handedSet{procs: make(map[string]*handedProc, len(st.Procs)), listeners: map[string]int{}}
	for i := range st.Procs {
		p := &st.Procs[i]
		h.procs[p.key()] = p
	}
	if st.Events != nil {
		for _, l := range st.Events.Listeners {
			h.listeners[l.Group+":"+l.Name] = l.Pid
		}
	}
	return h
}

func (h *handedSet) get(group, name string) *handedProc {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.procs[group+":"+name]
}

// takeSockets returns the handed sockets of p's program when they are
// what p's sockets= says now (else nil: Bind binds anew, and the handed
// ones close).
func (h *handedSet) takeSockets(p *config.Process) []reload.Handed {
	hp := h.get(p.Group, p.Name)
	if hp == nil || len(hp.Sockets) == 0 {
		return nil
	}
	h.mu.Lock()
	hs := hp.Sockets
	hp.Sockets = nil
	h.mu.Unlock()
	want := p.Drover.Sockets
	same := len(want) == len(hs)
	for i := 0; same && i < len(hs); i++ {
		same = want[i].String() == hs[i].SpecText
		hs[i].Spec = want[i]
	}
	if !same {
		for _, s := range hs {
			_ = unix.Close(s.FD)
		}
		return nil
	}
	return hs
}

// takePipes returns the handed pipe fds of a process, once.
func (h *handedSet) takePipes(group, name string, pid int) (stdin, stdout, stderr int, ok bool) {
	hp := h.get(group, name)
	if hp == nil || hp.Pid != pid {
		return -1, -1, -1, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	stdin, stdout, stderr = hp.Stdin, hp.Stdout, hp.Stderr
	hp.Stdin, hp.Stdout, hp.Stderr = -1, -1, -1
	return stdin, stdout, stderr, stdout >= 0
}

// Adopt takes over a handed-over generation: its stdin write end and its
// output pipes, which the pump reads again from where the previous image
// stopped (what the child wrote meanwhile waited in the pipes).
func (h *host) Adopt(req supervisor.AdoptRequest) (supervisor.Child, error) {
	stdin, stdout, stderr, ok := h.handed.takePipes(req.Group, req.Name, req.Pid)
	if !ok {
		closeFDs(stdin, stderr)
		return nil, errors.New("its output pipes were not handed over")
	}
	p := req.Process
	if h.ev != nil && p.EventListener && h.handed.listeners[req.Group+":"+req.Name] != req.Pid {
		// Its protocol state went with the daemon that crashed: whether it
		// waits for an event or is answering one is unknown, and a
		// listener taken in the wrong state gets no event again. The
		// caller kills it and starts it afresh.
		closeFDs(stdin, stdout, stderr)
		if hp := h.handed.get(req.Group, req.Name); h.keeper != nil && hp != nil {
			h.keeper.drop(keeperKey(cmp.Or(hp.KeeperPid, req.Pid)))
		}
		return nil, errors.New("an event listener whose protocol state was lost with the previous daemon")
	}
	c := &child{pid: req.Pid, keeper: h.keeper}
	if stdin >= 0 {
		c.stdin = os.NewFile(uintptr(stdin), "|0") // non-blocking: pollable
		c.api = newStdinWriter(c.stdin)
	}
	if hp := h.handed.get(req.Group, req.Name); h.keeper != nil && hp != nil && hp.KeeperPid != 0 && hp.KeeperPid != req.Pid {
		// Held under the spawned pid, which a re-exec replaced: re-keyed
		// by the main pid, which the state file records and Exited drops.
		labels, fds := []string{"1"}, []int{stdout}
		if stdin >= 0 {
			labels, fds = append(labels, "0"), append(fds, stdin)
		}
		if stderr >= 0 {
			labels, fds = append(labels, "2"), append(fds, stderr)
		}
		h.keeper.keep(keeperKey(req.Pid), labels, fds)
		h.keeper.drop(keeperKey(hp.KeeperPid))
	}
	if h.ev != nil && p.EventListener && c.stdin != nil {
		// In the protocol state the previous image handed over (above).
		c.ev = h.ev
		h.ev.Adopted(p.Group, p.Name, req.Pid, c.stdin) // before the pump reads its output
	}
	c.out.stdout = h.pumpOne(p, req.Pid, stdout, "stdout", p.Stdout, req.Logs.Stdout, nil)
	if stderr >= 0 {
		c.out.stderr = h.pumpOne(p, req.Pid, stderr, "stderr", p.Stderr, req.Logs.Stderr, nil)
	}
	return c, nil
}

// handedLogs is the log paths the previous image used for p's AUTO logs,
// once: a group added again later (update, restart) gets new ones, as in
// supervisord.
func (h *host) handedLogs(p *config.Process) (supervisor.Logs, bool) {
	hp := h.handed.get(p.Group, p.Name)
	if hp == nil {
		return supervisor.Logs{}, false
	}
	h.handed.mu.Lock()
	l := hp.ProcRecord.Logs
	hp.ProcRecord.Logs = supervisor.Logs{}
	h.handed.mu.Unlock()
	if !p.Stdout.Auto {
		l.Stdout = p.Stdout.Path
	}
	if !p.Stderr.Auto || p.RedirectStderr {
		l.Stderr = p.Stderr.Path
	}
	if (p.Stdout.Auto && l.Stdout == "") || (p.Stderr.Auto && !p.RedirectStderr && l.Stderr == "") {
		return supervisor.Logs{}, false
	}
	return l, true
}

// handedBind rebuilds p's sockets from handed ones, if any.
func (h *host) handedBind(p *config.Process, so reload.SocketOptions) (*reload.Set, error) {
	hs := h.handed.takeSockets(p)
	if hs == nil {
		return nil, nil
	}
	set, err := reload.Adopt(hs, so)
	if err != nil {
		return nil, fmt.Errorf("handed-over sockets: %w", err)
	}
	return set, nil
}
