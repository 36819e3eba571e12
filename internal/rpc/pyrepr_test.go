package rpc

import (
	"github.com/drover-sh/drover/internal/supervisor"

	"context"
	"math"
	"testing"
	"time"
)

// TestPyStr checks fault details read as Python's str() of the value, as
// supervisord writes them (checked against python3's str()).
func TestPyStr(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{
		{"abc", "abc"},
		{5, "5"},
		{true, "True"},
		{false, "False"},
		{nil, "None"},
		{1.5, "1.5"},
		{2.0, "2.0"},
		{-0.25, "-0.25"},
		{1e16, "1e+16"},
		{1.5e-7, "1.5e-07"},
		{math.Inf(1), "inf"},
		{math.NaN(), "nan"},
		{[]any{}, "[]"},
		{map[string]any{}, "{}"},
		{[]any{1, "x", true, []any{2.5}}, "[1, 'x', True, [2.5]]"},
		{map[string]any{"b": "it's", "a": []any{}}, `{'a': [], 'b': "it's"}`},
		{[]any{"a\nb\\c\x1b"}, `['a\nb\\c\x1b']`},
		{[]any{`'"`}, `['\'"']`},
		{[]byte("hi"), "b'hi'"},
		{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "20260102T03:04:05"},
	} {
		if got := pyStr(c.in); got != c.want {
			t.Errorf("pyStr(%#v) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestArgsLikePythonInt: ints may come as doubles (truncated, as int()
// does) and an array or struct where an int belongs is a bare
// INCORRECT_PARAMETERS, as supervisord answers (its int() raises TypeError).
func TestArgsLikePythonInt(t *testing.T) {
	for _, c := range []struct {
		in   any
		want int64
	}{{1.5, 1}, {-1.9, -1}, {"12", 12}, {true, 1}, {7, 7}} {
		got, err := args{c.in}.int(0)
		if err != nil || got != c.want {
			t.Errorf("int(%#v) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, c := range []struct {
		in   any
		want string
	}{
		{[]any{}, "INCORRECT_PARAMETERS"},
		{map[string]any{}, "INCORRECT_PARAMETERS"},
		{"abc", "INCORRECT_PARAMETERS: abc"},
		{math.NaN(), "INCORRECT_PARAMETERS: nan"},
		{1e300, "INCORRECT_PARAMETERS: 1e+300"},
	} {
		_, err := args{c.in}.int(0)
		if f := ToFault(err); f.Code != supervisor.CodeIncorrectParameters || f.Error() != c.want {
			t.Errorf("int(%#v): fault %q, want %q", c.in, f.Error(), c.want)
		}
	}
}

// TestFaultDetailsPythonic: the same through the method table.
func TestFaultDetailsPythonic(t *testing.T) {
	s, _ := newTestServer(t)
	ctx := context.Background()
	wantFault(t, s, supervisor.CodeIncorrectParameters, "INCORRECT_PARAMETERS: {}", "supervisor.sendProcessStdin", "cat", map[string]any{})
	wantFault(t, s, supervisor.CodeIncorrectParameters, "INCORRECT_PARAMETERS", "supervisor.readLog", []any{}, 0)
	wantFault(t, s, supervisor.CodeIncorrectParameters, "INCORRECT_PARAMETERS", "system.multicall", map[string]any{})
	wantFault(t, s, supervisor.CodeIncorrectParameters, "INCORRECT_PARAMETERS", "system.multicall", 5)
	wantFault(t, s, supervisor.CodeBadSignal, "BAD_SIGNAL: ['HUP']", "supervisor.signalProcess", "cat", []any{"HUP"})
	if _, err := s.Call(ctx, "supervisor.readLog", 0.0, 1.0); err != nil {
		t.Errorf("readLog(0.0, 1.0): %v, want the doubles read as ints", err)
	}
}
