package rpc

import (
	"github.com/drover-sh/drover/internal/supervisor"

	"context"
	"sort"
	"strings"
	"sync/atomic"
)

// method is one entry of the explicit allow-list. Nothing outside this
// table can be called (no reflection, no attribute traversal: the
// CVE-2017-11610 class cannot exist).
type method struct {
	params   []kind   // declared parameter kinds, in order
	names    []string // parameter names, for methodHelp
	required int      // how many params must be given
	ret      kind     // return type for methodSignature
	help     string   // first line of methodHelp
	// readOnly methods are served even on an inet listener that has no
	// credentials and is not on loopback.
	readOnly bool
	// anyState methods work during shutdown (system.* and
	// sendRemoteCommEvent); every other one fails SHUTDOWN_STATE then.
	anyState bool
	call     func(ctx context.Context, d *dispatcher, a args) (any, error)
	// size is the length of the last answer, to size the next one's
	// buffer.
	size atomic.Int64
}

// dispatcher runs calls against a Backend.
type dispatcher struct {
	b       Backend
	opts    *Options
	methods map[string]*method
	// otherSize is size for names that are not methods.
	otherSize atomic.Int64
}

func newDispatcher(b Backend, opts *Options) *dispatcher {
	d := &dispatcher{b: b, opts: opts}
	d.methods = methodTable()
	return d
}

// call runs one method. readOnly restricts it to read-only methods.
func (d *dispatcher) call(ctx context.Context, name string, params []any, readOnly bool) (any, error) {
	m, ok := d.methods[name]
	if !ok {
		return nil, supervisor.NewFault(supervisor.CodeUnknownMethod, "")
	}
	if len(params) < m.required || len(params) > len(m.params) {
		return nil, supervisor.NewFault(supervisor.CodeIncorrectParameters, "")
	}
	if readOnly && !m.readOnly {
		return nil, supervisor.NewFault(supervisor.CodeFailed, "read-only listener: "+name+" needs credentials (see the daemon log)")
	}
	ctx = withReadOnly(ctx, readOnly)
	if !m.anyState {
		if st := d.b.State(); st == supervisor.StateShutdown || st == supervisor.StateRestarting {
			return nil, supervisor.NewFault(supervisor.CodeShutdownState, "")
		}
	}
	v, err := m.call(ctx, d, args(params))
	if err != nil {
		return nil, err
	}
	return v, nil
}

// sizeHint returns where the length of name's last answer is kept.
func (d *dispatcher) sizeHint(name string) *atomic.Int64 {
	if m, ok := d.methods[name]; ok {
		return &m.size
	}
	return &d.otherSize
}

// names returns every method name, sorted (system.listMethods).
func (d *dispatcher) names() []string {
	out := make([]string, 0, len(d.methods))
	for n := range d.methods {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// helpText renders a docstring in supervisord's @param/@return form, so
// tools that parse it (as system.methodSignature does) keep working.
func (m *method) helpText() string {
	var b strings.Builder
	b.WriteString(m.help)
	b.WriteString("\n\n")
	for i, p := range m.params {
		b.WriteString("@param " + string(p) + " " + m.names[i] + "\n")
	}
	b.WriteString("@return " + string(m.ret) + " result\n")
	return b.String()
}

func (m *method) signature() []string {
	out := []string{string(m.ret)}
	for _, p := range m.params {
		out = append(out, string(p))
	}
	return out
}

func p(kinds ...kind) []kind { return kinds }

func n(names ...string) []string { return names }

// methodTable is the allow-list: 37 supervisor.* names (aliases
// included) and 4 system.* names, as supervisord 4.2 lists them, plus
// drover's own drover.* methods (as a supervisord rpcinterface plugin's
// would be listed).
func methodTable() map[string]*method {
	version := &method{ret: kString, help: "Return the version of the RPC API used by supervisord", readOnly: true, call: getAPIVersion}
	readLog := &method{params: p(kInt, kInt), names: n("offset", "length"), required: 2, ret: kString,
		help: "Read length bytes from the main log starting at offset", readOnly: true, call: readMainLog}
	readOut := &method{params: p(kString, kInt, kInt), names: n("name", "offset", "length"), required: 3, ret: kString,
		help: "Read length bytes from name's stdout log starting at offset", readOnly: true, call: readStdout}
	tailOut := &method{params: p(kString, kInt, kInt), names: n("name", "offset", "length"), required: 3, ret: kArray,
		help: "Tail name's stdout log: [string bytes, int offset, bool overflow]", readOnly: true, call: tailStdout}
	clearLogs := &method{params: p(kString), names: n("name"), required: 1, ret: kBool,
		help: "Clear the stdout and stderr logs of the named process and reopen them", call: clearProcessLogs}
	t := map[string]*method{
		"supervisor.getAPIVersion": version,
		"supervisor.getVersion":    version,
		"supervisor.getSupervisorVersion": {ret: kString, readOnly: true, call: getSupervisorVersion,
			help: "Return the version of the supervisor package in use by the daemon"},
		"supervisor.getIdentification": {ret: kString, readOnly: true, call: getIdentification,
			help: "Return the identifying string of the daemon"},
		"supervisor.getState": {ret: "struct", readOnly: true, call: getState,
			help: "Return the daemon state as a struct with keys int statecode, string statename"},
		"supervisor.getPID":      {ret: kInt, readOnly: true, call: getPID, help: "Return the PID of the daemon"},
		"supervisor.readLog":     readLog,
		"supervisor.readMainLog": readLog,
		"supervisor.clearLog":    {ret: kBool, call: clearLog, help: "Clear the main log"},
		"supervisor.shutdown":    {ret: kBool, call: shutdown, help: "Shut down the daemon"},
		"supervisor.restart":     {ret: kBool, call: restart, help: "Restart the daemon"},
		"supervisor.reloadConfig": {ret: kArray, call: reloadConfig,
			help: "Reread the configuration: [[added, changed, removed]] process group names"},
		"supervisor.addProcessGroup": {params: p(kString), names: n("name"), required: 1, ret: kBool,
			call: addProcessGroup, help: "Add the process group name from the last-read configuration"},
		"supervisor.removeProcessGroup": {params: p(kString), names: n("name"), required: 1, ret: kBool,
			call: removeProcessGroup, help: "Remove a stopped process group from the active configuration"},
		"supervisor.startProcess": {params: p(kString, kBool), names: n("name", "wait"), required: 1, ret: kBool,
			call: startProcess, help: "Start a process (name, group:name or group:*)"},
		"supervisor.startProcessGroup": {params: p(kString, kBool), names: n("name", "wait"), required: 1, ret: kArray,
			call: startProcessGroup, help: "Start all processes in the group named name"},
		"supervisor.startAllProcesses": {params: p(kBool), names: n("wait"), ret: kArray,
			call: startAllProcesses, help: "Start all processes listed in the configuration"},
		"supervisor.stopProcess": {params: p(kString, kBool), names: n("name", "wait"), required: 1, ret: kBool,
			call: stopProcess, help: "Stop a process (name, group:name or group:*)"},
		"supervisor.stopProcessGroup": {params: p(kString, kBool), names: n("name", "wait"), required: 1, ret: kArray,
			call: stopProcessGroup, help: "Stop all processes in the group named name"},
		"supervisor.stopAllProcesses": {params: p(kBool), names: n("wait"), ret: kArray,
			call: stopAllProcesses, help: "Stop all processes"},
		"supervisor.signalProcess": {params: p(kString, kString), names: n("name", "signal"), required: 2, ret: kBool,
			call: signalProcess, help: "Send a signal (name like HUP, or number) to the process name"},
		"supervisor.signalProcessGroup": {params: p(kString, kString), names: n("name", "signal"), required: 2, ret: kArray,
			call: signalProcessGroup, help: "Send a signal to all processes in the group named name"},
		"supervisor.signalAllProcesses": {params: p(kString), names: n("signal"), required: 1, ret: kArray,
			call: signalAllProcesses, help: "Send a signal to all processes"},
		"supervisor.getAllConfigInfo": {ret: kArray, readOnly: true, call: getAllConfigInfo,
			help: "Return info about every configured process (groups flattened)"},
		"supervisor.getProcessInfo": {params: p(kString), names: n("name"), required: 1, ret: "struct", readOnly: true,
			call: getProcessInfo, help: "Return info about the process name (or group:name)"},
		"supervisor.getAllProcessInfo": {ret: kArray, readOnly: true, call: getAllProcessInfo,
			help: "Return info about all processes"},
		"supervisor.readProcessStdoutLog": readOut,
		"supervisor.readProcessLog":       readOut,
		"supervisor.readProcessStderrLog": {params: p(kString, kInt, kInt), names: n("name", "offset", "length"), required: 3,
			ret: kString, readOnly: true, call: readStderr, help: "Read length bytes from name's stderr log starting at offset"},
		"supervisor.tailProcessStdoutLog": tailOut,
		"supervisor.tailProcessLog":       tailOut,
		"supervisor.tailProcessStderrLog": {params: p(kString, kInt, kInt), names: n("name", "offset", "length"), required: 3,
			ret: kArray, readOnly: true, call: tailStderr, help: "Tail name's stderr log: [string bytes, int offset, bool overflow]"},
		"supervisor.clearProcessLogs":    clearLogs,
		"supervisor.clearProcessLog":     clearLogs,
		"supervisor.clearAllProcessLogs": {ret: kArray, call: clearAllProcessLogs, help: "Clear all process log files"},
		"supervisor.sendProcessStdin": {params: p(kString, kString), names: n("name", "chars"), required: 2, ret: kBool,
			call: sendProcessStdin, help: "Send a string of chars to the stdin of the process name"},
		"supervisor.sendRemoteCommEvent": {params: p(kString, kString), names: n("type", "data"), required: 2, ret: kBool,
			anyState: true, call: sendRemoteCommEvent,
			help: "Send a REMOTE_COMMUNICATION event to subscribed event listeners"},
		"system.listMethods": {ret: kArray, readOnly: true, anyState: true, call: listMethods,
			help: "Return an array listing the available method names"},
		"system.methodHelp": {params: p(kString), names: n("name"), required: 1, ret: kString, readOnly: true,
			anyState: true, call: methodHelp, help: "Return a string showing the method's documentation"},
		"system.methodSignature": {params: p(kString), names: n("name"), required: 1, ret: kArray, readOnly: true,
			anyState: true, call: methodSignature,
			help: "Return an array [rtype, ptype, ...] describing the method signature"},
		"system.multicall": {params: p(kArray), names: n("calls"), required: 1, ret: kArray, readOnly: true,
			anyState: true, call: multicall,
			help: "Run an array of {methodName, params} calls; each result is the bare value or a fault struct"},
	}
	for name, m := range droverMethods() {
		t[name] = m
	}
	return t
}
