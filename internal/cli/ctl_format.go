package cli

import (
	"github.com/drover-sh/drover/internal/supervisor"

	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Everything the client prints about processes is formatted here, in
// supervisorctl 4.2.5's exact shapes.

// info is one XML-RPC struct as decoded (getProcessInfo,
// getAllConfigInfo, a result struct).
type info = map[string]any

// infoStr reads a string member ("" if absent).
func infoStr(m info, key string) string {
	switch v := m[key].(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// infoInt reads an int member (0 if absent).
func infoInt(m info, key string) int {
	switch v := m[key].(type) {
	case int:
		return v
	case bool:
		if v {
			return 1
		}
	case string:
		n, _ := strconv.Atoi(v)
		return n
	}
	return 0
}

// infoBool reads a boolean member (false if absent).
func infoBool(m info, key string) bool {
	switch v := m[key].(type) {
	case bool:
		return v
	case int:
		return v != 0
	}
	return false
}

// structList checks that an answer is an array of structs.
func structList(v any) ([]info, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("unexpected answer %T, want an array", v)
	}
	out := make([]info, len(arr))
	for i, e := range arr {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("unexpected array element %T, want a struct", e)
		}
		out[i] = m
	}
	return out, nil
}

// namespec is how supervisorctl names a process: "name" when the group
// has the same name, otherwise "group:name".
func namespec(group, name string) string {
	if group == name {
		return name
	}
	return group + ":" + name
}

// splitNamespec splits a user's name as supervisorctl does: "g:p" →
// (g, p); "g:" or "g:*" → (g, "", whole group); "p" → (p, p).
func splitNamespec(s string) (group, proc string, wholeGroup bool) {
	if g, p, ok := strings.Cut(s, ":"); ok {
		if p == "" || p == "*" {
			return g, "", true
		}
		return g, p, false
	}
	return s, s, false
}

// process state codes (supervisord's ProcessStates).
const (
	stateStopped = 0
	stateRunning = 20
	stateExited  = 100
	stateFatal   = 200
	stateUnknown = 1000
)

func isStoppedState(s int) bool {
	return s == stateStopped || s == stateExited || s == stateFatal || s == stateUnknown
}

// failedWhy is what to print for a FAILED fault with description desc
// where supervisorctl prints the fixed words why: those words, except for
// an access refusal, which supervisord never makes: its own text, so the
// user learns which right is missing.
func failedWhy(desc, why string) string {
	if d, ok := strings.CutPrefix(desc, "FAILED: "); ok && strings.HasPrefix(d, "access denied") {
		return d
	}
	return why
}

// errLine is supervisorctl's "name: ERROR (why)".
func errLine(name, why string) string { return name + ": ERROR (" + why + ")" }

// startResult words one start result; ok is false for a code
// supervisorctl has no words for.
func startResult(name string, code supervisor.Code) (string, bool) {
	switch code {
	case supervisor.CodeBadName:
		return errLine(name, "no such process"), true
	case supervisor.CodeNoFile:
		return errLine(name, "no such file"), true
	case supervisor.CodeNotExecutable:
		return errLine(name, "file is not executable"), true
	case supervisor.CodeAlreadyStarted:
		return errLine(name, "already started"), true
	case supervisor.CodeSpawnError:
		return errLine(name, "spawn error"), true
	case supervisor.CodeAbnormalTermination:
		return errLine(name, "abnormal termination"), true
	case supervisor.CodeSuccess:
		return name + ": started", true
	}
	return "", false
}

// signalResult words one stop or signal result (success is "stopped" or
// "signalled"); a FAILED result prints its description as is.
func signalResult(name string, code supervisor.Code, desc, success string) (string, bool) {
	switch code {
	case supervisor.CodeBadName:
		return errLine(name, "no such process"), true
	case supervisor.CodeBadSignal:
		return errLine(name, "bad signal name"), true
	case supervisor.CodeNotRunning:
		return errLine(name, "not running"), true
	case supervisor.CodeSuccess:
		return name + ": " + success, true
	case supervisor.CodeFailed:
		return desc, true
	}
	return "", false
}

// clearResult words one clear-log result.
func clearResult(name string, code supervisor.Code, desc string) (string, bool) {
	switch code {
	case supervisor.CodeBadName:
		return errLine(name, "no such process"), true
	case supervisor.CodeFailed:
		return errLine(name, failedWhy(desc, "failed")), true
	case supervisor.CodeSuccess:
		return name + ": cleared", true
	}
	return "", false
}

// result is a group/all operation's result struct, or a fault turned
// into one for a single-process call.
type result struct {
	name string // namespec
	code supervisor.Code
	desc string
}

func resultsFrom(v any) ([]result, error) {
	list, err := structList(v)
	if err != nil {
		return nil, err
	}
	out := make([]result, len(list))
	for i, m := range list {
		out[i] = result{namespec(infoStr(m, "group"), infoStr(m, "name")), supervisor.Code(infoInt(m, "status")), infoStr(m, "description")}
	}
	return out, nil
}

// report prints a result with word (startResult…) and sets the exit
// status, ignoring the code ignored. supervisorctl stops with a Python
// error on a code it has no words for; drover prints
// "name: ERROR (description)" and exit status 1 instead.
func (c *ctl) report(r result, word func(result) (string, bool), ignored supervisor.Code) {
	line, ok := word(r)
	if !ok {
		c.println(errLine(r.name, r.desc))
		c.exit = exitGeneric
		return
	}
	c.println(line)
	c.setExitFromFault(r.code, ignored)
}

// availLine is one line of avail.
func availLine(m info) string {
	inuse, auto := "avail", "manual"
	if infoBool(m, "inuse") {
		inuse = "in use"
	}
	if infoBool(m, "autostart") {
		auto = "auto"
	}
	prio := fmt.Sprintf("%v:%v", m["group_prio"], m["process_prio"])
	return fmt.Sprintf("%-32s %-9s %-9s %s", namespec(infoStr(m, "group"), infoStr(m, "name")), inuse, auto, prio)
}

// writeChanges prints reread's answer: every group name with
// "available", "changed" or "disappeared", sorted by name.
func (c *ctl) writeChanges(added, changed, removed []string) {
	kind := map[string]string{}
	for _, s := range []struct {
		names []string
		word  string
	}{{added, "available"}, {changed, "changed"}, {removed, "disappeared"}} {
		for _, n := range s.names {
			kind[n] = s.word
		}
	}
	if len(kind) == 0 {
		c.println("No config updates to processes")
		return
	}
	names := make([]string, 0, len(kind))
	for n := range kind {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c.println(n + ": " + kind[n])
	}
}

// writeJSON prints v as indented JSON (struct members keep their
// XML-RPC names; encoding/json sorts them).
func (c *ctl) writeJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	c.out.Write(b)
	c.out.WriteByte('\n')
	return nil
}

// stringList reads an array of strings.
func stringList(v any) []string {
	arr, _ := v.([]any)
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
