package events

import (
	"slices"
	"testing"
)

// feed runs the chunks through a Protocol, calling Sent whenever the
// listener becomes READY (as the dispatcher would with a buffered event),
// and returns the outcomes and the final state.
func feed(chunks ...string) ([]Outcome, ListenerState) {
	var p Protocol
	var got []Outcome
	for _, c := range chunks {
		p.Feed([]byte(c), func(o Outcome) {
			got = append(got, o)
			if o == SaidReady {
				p.Sent()
			}
		})
	}
	return got, p.State
}

func TestProtocol(t *testing.T) {
	for _, c := range []struct {
		name   string
		chunks []string
		want   []Outcome
		state  ListenerState
	}{
		{"ready", []string{"READY\n"}, []Outcome{SaidReady}, Busy},
		{"ready split", []string{"REA", "DY", "\n"}, []Outcome{SaidReady}, Busy},
		{"ok then ready in one write", []string{"READY\n", "RESULT 2\nOKREADY\n"},
			[]Outcome{SaidReady, Processed, SaidReady}, Busy},
		{"fail rejects", []string{"READY\n", "RESULT 4\nFAIL"}, []Outcome{SaidReady, Rejected}, Acknowledged},
		{"result split everywhere", []string{"READY\n", "RES", "ULT 2", "\nO", "K"},
			[]Outcome{SaidReady, Processed}, Acknowledged},
		{"garbage before ready", []string{"hello!\n"}, []Outcome{Broken}, Unknown},
		{"short garbage waits", []string{"hi"}, nil, Acknowledged},
		{"bad length", []string{"READY\n", "RESULT x\nOK"}, []Outcome{SaidReady, Broken}, Unknown},
		{"negative length", []string{"READY\n", "RESULT -1\n"}, []Outcome{SaidReady, Broken}, Unknown},
		{"nothing after broken", []string{"nope!!\n", "READY\n"}, []Outcome{Broken}, Unknown},
		{"spaces around length", []string{"READY\n", "RESULT  2 \nOK"}, []Outcome{SaidReady, Processed}, Acknowledged},
		// supervisord looks at a zero-length body only when more output comes.
		{"empty result waits", []string{"READY\n", "RESULT 0\n"}, []Outcome{SaidReady}, Busy},
		{"empty result rejected", []string{"READY\n", "RESULT 0\n", "READY\n"},
			[]Outcome{SaidReady, Rejected, SaidReady}, Busy},
	} {
		got, st := feed(c.chunks...)
		if !slices.Equal(got, c.want) || st != c.state {
			t.Errorf("%s: outcomes %v state %v, want %v %v", c.name, got, st, c.want, c.state)
		}
	}
}

// Output while READY (nothing was sent) breaks the protocol.
func TestProtocolOutputWhileReady(t *testing.T) {
	var p Protocol
	var got []Outcome
	p.Feed([]byte("READY\nRESULT 2\nOK"), func(o Outcome) { got = append(got, o) })
	if !slices.Equal(got, []Outcome{SaidReady, Broken}) || p.State != Unknown {
		t.Fatalf("got %v %v", got, p.State)
	}
}

func FuzzProtocol(f *testing.F) {
	f.Add([]byte("READY\n"), []byte("RESULT 2\nOKREADY\n"), uint8(3))
	f.Add([]byte("READY\nRESULT 4\nFAIL"), []byte("READY\n"), uint8(1))
	f.Add([]byte("RESULT 99999999999999999999\n"), []byte{0xff, '\n'}, uint8(7))
	f.Fuzz(func(t *testing.T, a, b []byte, split uint8) {
		var p Protocol
		for _, chunk := range [][]byte{a, b} {
			cut := min(int(split), len(chunk))
			for _, part := range [][]byte{chunk[:cut], chunk[cut:]} {
				before := p.State
				p.Feed(part, func(o Outcome) {
					if o == SaidReady {
						p.Sent()
					}
				})
				if before == Unknown && p.State != Unknown {
					t.Fatalf("left UNKNOWN without a restart")
				}
				if p.State > Unknown {
					t.Fatalf("state %d", p.State)
				}
				if len(p.buf) > maxPending+len(part) || len(p.result) > maxPending {
					t.Fatalf("unbounded buffer: %d %d", len(p.buf), len(p.result))
				}
			}
		}
	})
}
