package logfile

import (
	"bytes"
	"testing"
)

type streams struct {
	log, events bytes.Buffer
	captured    [][]byte
}

func runSplit(data []byte, cuts []int, capture int, strip bool) *streams {
	st := &streams{}
	s := &Sink{
		Log:             &st.log,
		StripANSI:       strip,
		CaptureMaxBytes: capture,
		OnLog:           func(b []byte) { st.events.Write(b) },
		OnCapture:       func(b []byte) { st.captured = append(st.captured, b) },
	}
	ps := &pipeState{sink: s}
	buf := make([]byte, 0, len(data)+maxCarry)
	prev := 0
	for _, c := range append(cuts, len(data)) {
		buf = append(buf[:0], ps.carry[:ps.carryLen]...)
		buf = append(buf, data[prev:c]...)
		ps.consume(buf, false)
		prev = c
	}
	buf = append(buf[:0], ps.carry[:ps.carryLen]...)
	ps.consume(buf, true)
	return st
}

// FuzzConsume: whatever the data and wherever reads end, the log, the
// PROCESS_LOG data and the captures are those of a single read (except
// that a capture bounded by CaptureMaxBytes keeps only its tail either way),
// and nothing panics.
func FuzzConsume(f *testing.F) {
	f.Add([]byte("a<!--XSUPERVISOR:BEGIN-->b<!--XSUPERVISOR:END-->c"), uint16(5), uint16(30), uint8(10), true)
	f.Add([]byte("\x1b[31mred\x1b[0m\x1b"), uint16(1), uint16(6), uint8(0), true)
	f.Add([]byte("<!--XSUPERVISOR:BEGIN-->\x1b[1m<!--XSUPERVISOR:END"), uint16(24), uint16(25), uint8(3), false)
	f.Fuzz(func(t *testing.T, data []byte, c1, c2 uint16, capture uint8, strip bool) {
		cuts := []int{int(c1) % (len(data) + 1), int(c2) % (len(data) + 1)}
		if cuts[0] > cuts[1] {
			cuts[0], cuts[1] = cuts[1], cuts[0]
		}
		one := runSplit(data, nil, int(capture), strip)
		split := runSplit(data, cuts, int(capture), strip)
		if !bytes.Equal(one.log.Bytes(), split.log.Bytes()) {
			t.Fatalf("log differs: %q vs %q", one.log.Bytes(), split.log.Bytes())
		}
		if !bytes.Equal(one.events.Bytes(), split.events.Bytes()) {
			t.Fatalf("events differ: %q vs %q", one.events.Bytes(), split.events.Bytes())
		}
		if len(one.captured) != len(split.captured) {
			t.Fatalf("captures: %d vs %d", len(one.captured), len(split.captured))
		}
		for i := range one.captured {
			if !bytes.Equal(one.captured[i], split.captured[i]) {
				t.Fatalf("capture %d: %q vs %q", i, one.captured[i], split.captured[i])
			}
			if len(one.captured[i]) > int(capture) {
				t.Fatalf("capture %d exceeds %d bytes", i, capture)
			}
		}
	})
}
