package events

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/config"
	"github.com/drover-sh/drover/internal/supervisor"
)

// FuzzDispatcher drives the owner's state with any sequence of spawns,
// output, exits, state changes, publications and pool changes over two
// pools of two listeners, checking after each step that nothing panics,
// no buffer outgrows buffer_size, and a listener holds an event exactly
// when it is BUSY.
func FuzzDispatcher(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	f.Add([]byte{0, 8, 1, 3, 4, 5, 2, 6, 7, 4, 9, 5, 3})
	f.Fuzz(func(t *testing.T, ops []byte) {
		clock := time.Unix(1700000000, 0)
		opt := &Options{Identifier: "supervisor", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Now: func() time.Time { return clock }}
		s := newState(opt, func(*listener, []byte, int64) {})
		pools := []*config.Group{fuzzPool("a", 2, "EVENT"), fuzzPool("b", 1, "PROCESS_STATE", "REMOTE_COMMUNICATION")}
		outputs := []string{"READY\n", "RESULT 2\nOK", "RESULT 4\nFAIL", "REA", "DY\nRESULT 2\nOKREADY\n", "junk\n", "RESULT x\n"}
		pid := 100
		for i := 0; i+1 < len(ops); i += 2 {
			op, arg := ops[i]%10, int(ops[i+1])
			g := pools[arg%2]
			name := g.Processes[(arg/2)%2].Name
			lpid := 100 + arg%8
			switch op {
			case 0:
				s.supervisorEvent(supervisor.Event{Kind: supervisor.EventGroupAdded, Group: g.Name, Config: g})
			case 1:
				s.supervisorEvent(supervisor.Event{Kind: supervisor.EventGroupRemoved, Group: g.Name})
			case 2:
				pid++
				s.spawned(g.Name, name, pid, io.Discard)
			case 3:
				s.output(lpid, []byte(outputs[arg%len(outputs)]))
			case 4:
				s.supervisorEvent(supervisor.Event{Kind: supervisor.EventProcessState, Group: g.Name, Name: name,
					From: supervisor.Starting, To: supervisor.Running, Pid: lpid})
			case 5:
				s.supervisorEvent(supervisor.Event{Kind: supervisor.EventProcessState, Group: g.Name, Name: name,
					From: supervisor.Running, To: supervisor.Stopping, Pid: lpid})
			case 6:
				s.exited(lpid)
			case 7:
				s.publish(Remote("t", string(rune(arg))))
			case 8:
				s.publish(Tick(5, int64(arg)))
			case 9:
				clock = clock.Add(time.Duration(arg) * time.Second)
				s.tick()
				s.nextTick()
			}
			s.dispatch()
			for _, p := range s.pools {
				if len(p.buf) > max(p.cfg.BufferSize, 1) {
					t.Fatalf("pool %s holds %d events, buffer_size %d", p.cfg.Name, len(p.buf), p.cfg.BufferSize)
				}
			}
			for k, l := range s.listeners {
				if (l.held != nil) != (l.proto.State == Busy) {
					t.Fatalf("listener %s: held=%v in state %v", k, l.held != nil, l.proto.State)
				}
			}
		}
	})
}

func fuzzPool(name string, size int, events ...string) *config.Group {
	return &config.Group{Name: name, Kind: config.KindEventListener, Events: events, BufferSize: size,
		Processes: []*config.Process{{Name: name + "_0", Group: name}, {Name: name + "_1", Group: name}}}
}
