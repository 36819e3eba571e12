//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// probeAnswer is one line of testdata/rpcprobe.py's output.
type probeAnswer struct {
	Kind   string          `json:"kind"`
	Call   string          `json:"call"`
	Answer json.RawMessage `json:"answer"`
}

// probe runs testdata/rpcprobe.py (Python's xmlrpc.client over the unix
// socket) against d.
func (d *daemon) probe() []probeAnswer {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "python3", filepath.Join("testdata", "rpcprobe.py"),
		filepath.Join(d.dir, "supervisor.sock"), d.dir)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		d.t.Fatalf("rpcprobe.py against %s: %v\n%s", d.kind, err, stderr)
	}
	var as []probeAnswer
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var a probeAnswer
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			d.t.Fatalf("rpcprobe.py line %q: %v", l, err)
		}
		as = append(as, a)
	}
	return as
}

// TestE2EXMLRPCFaults calls every supervisor.* and system.* method from
// Python's xmlrpc.client with wrong argument counts and wrong types (and
// some right ones that change nothing) against both daemons, and compares
// the answers: fault code and string, HTTP status or result shape.
func TestE2EXMLRPCFaults(t *testing.T) {
	needPeers(t)
	t.Parallel()
	sup, drv := startPair(t, config{}, config{})
	p := &pair{t: t, sup: sup, drv: drv}
	s, d := both(p, func(x *daemon) []probeAnswer { return x.probe() })
	byCall := map[string]probeAnswer{}
	for _, a := range d {
		if _, dup := byCall[a.Call]; dup {
			t.Fatalf("rpcprobe.py makes the call %s twice: calls are matched by their text", a.Call)
		}
		byCall[a.Call] = a
	}
	for _, a := range s {
		b, ok := byCall[a.Call]
		if !ok {
			b = probeAnswer{Kind: a.Kind, Call: a.Call, Answer: json.RawMessage(`"no such call"`)}
		}
		delete(byCall, a.Call)
		p.compareRPC(a, b)
	}
	for _, b := range d {
		if _, ok := byCall[b.Call]; ok {
			p.compareRPC(probeAnswer{Kind: b.Kind, Call: b.Call, Answer: json.RawMessage(`"no such call"`)}, b)
		}
	}
	t.Logf("%d of %d calls answered the same; %d wrong-type calls differ as documented",
		len(p.matched), len(s), p.typeDiffs)
}

// compareRPC compares one call's answers. A call with one argument of a
// wrong type may differ when drover answers INCORRECT_PARAMETERS (or
// BAD_SIGNAL for a signal) where supervisord coerces the value, answers
// another fault or HTTP 500: docs/api.md, deliberate difference 4.
func (p *pair) compareRPC(s, d probeAnswer) {
	p.t.Helper()
	if d.Kind == "extension" {
		p.t.Logf("drover's extension methods: %s", d.Answer)
		return
	}
	if s.Kind == "type" && !bytes.Equal(s.Answer, d.Answer) {
		var a struct {
			Fault []any `json:"fault"`
		}
		if json.Unmarshal(d.Answer, &a) == nil && len(a.Fault) == 2 && (a.Fault[0] == 2.0 || a.Fault[0] == 11.0) {
			p.typeDiffs++
			p.t.Logf("%s: deliberate (wrong type): supervisord %s, drover %s", s.Call, s.Answer, d.Answer)
			return
		}
	}
	p.compare(s.Call, string(s.Answer), string(d.Answer))
}
