package rpc

import (
	"github.com/drover-sh/drover/internal/access"
	"github.com/drover-sh/drover/internal/supervisor"

	"context"
	"errors"
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
	// class and target are what the access rules check (methodAccess).
	class  access.Class
	target target
	call   func(ctx context.Context, d *dispatcher, a args) (any, error)
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

// call runs one method for the caller of ctx's grant (every right
// without one). A refusal and every call that changes something are
// written to the audit log.
func (d *dispatcher) call(ctx context.Context, name string, params []any) (any, error) {
	m, err := d.check(ctx, name, params)
	if err != nil {
		return nil, err
	}
	g := grantFrom(ctx)
	if !m.anyState {
		if st := d.b.State(); st == supervisor.StateShutdown || st == supervisor.StateRestarting {
			return nil, supervisor.NewFault(supervisor.CodeShutdownState, "")
		}
	}
	v, err := m.call(ctx, d, args(params))
	if m.class != access.Read {
		d.audit(g, name, params, err)
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

// errRefused marks a call refused by the listener or the access rules
// (the console answers those 403).
var errRefused = errors.New("refused")

// check finds method name and decides whether ctx's caller may call it
// with params: the read-only listener and the access rules (a refusal is
// audited and wraps errRefused).
func (d *dispatcher) check(ctx context.Context, name string, params []any) (*method, error) {
	m, ok := d.methods[name]
	if !ok {
		return nil, supervisor.NewFault(supervisor.CodeUnknownMethod, "")
	}
	if len(params) < m.required || len(params) > len(m.params) {
		return nil, supervisor.NewFault(supervisor.CodeIncorrectParameters, "")
	}
	g := grantFrom(ctx)
	if g.readOnly && !m.readOnly {
		return nil, refused{supervisor.NewFault(supervisor.CodeFailed, "read-only listener: "+name+" needs credentials (see the daemon log)")}
	}
	if err := g.allow(name, m, params); err != nil {
		d.audit(g, name, params, err)
		return nil, refused{err}
	}
	return m, nil
}

// refused wraps a refusal's fault so that errors.Is(err, errRefused)
// holds while the fault stays what callers see.
type refused struct{ error }

func (r refused) Is(target error) bool { return target == errRefused }
func (r refused) Unwrap() error        { return r.error }

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
	for name, m := range t {
		a := methodAccess[name]
		m.class, m.target = a.class, a.target
	}
	return t
}

type methodRule struct {
	class  access.Class
	target target
}

// methodAccess is what each method needs under [access:x] rules: its
// class (read, control, admin) and what it acts on. Every method has an
// entry (TestMethodAccessComplete); reads of the daemon's own state need
// any right, the main log needs read on every program.
var methodAccess = map[string]methodRule{
	"supervisor.getAPIVersion":        {access.Read, onDaemon},
	"supervisor.getVersion":           {access.Read, onDaemon},
	"supervisor.getSupervisorVersion": {access.Read, onDaemon},
	"supervisor.getIdentification":    {access.Read, onDaemon},
	"supervisor.getState":             {access.Read, onDaemon},
	"supervisor.getPID":               {access.Read, onDaemon},
	"supervisor.readLog":              {access.Read, onAll},
	"supervisor.readMainLog":          {access.Read, onAll},
	"supervisor.clearLog":             {access.Admin, onAll},
	"supervisor.shutdown":             {access.Admin, onAll},
	"supervisor.restart":              {access.Admin, onAll},
	"supervisor.reloadConfig":         {access.Admin, onAll},
	"supervisor.addProcessGroup":      {access.Admin, onGroup},
	"supervisor.removeProcessGroup":   {access.Admin, onGroup},
	"supervisor.startProcess":         {access.Control, onProcess},
	"supervisor.startProcessGroup":    {access.Control, onGroup},
	"supervisor.startAllProcesses":    {access.Control, onAll},
	"supervisor.stopProcess":          {access.Control, onProcess},
	"supervisor.stopProcessGroup":     {access.Control, onGroup},
	"supervisor.stopAllProcesses":     {access.Control, onAll},
	"supervisor.signalProcess":        {access.Control, onProcess},
	"supervisor.signalProcessGroup":   {access.Control, onGroup},
	"supervisor.signalAllProcesses":   {access.Control, onAll},
	"supervisor.getAllConfigInfo":     {access.Read, onList},
	"supervisor.getProcessInfo":       {access.Read, onProcess},
	"supervisor.getAllProcessInfo":    {access.Read, onList},
	"supervisor.readProcessStdoutLog": {access.Read, onProcess},
	"supervisor.readProcessLog":       {access.Read, onProcess},
	"supervisor.readProcessStderrLog": {access.Read, onProcess},
	"supervisor.tailProcessStdoutLog": {access.Read, onProcess},
	"supervisor.tailProcessLog":       {access.Read, onProcess},
	"supervisor.tailProcessStderrLog": {access.Read, onProcess},
	"supervisor.clearProcessLogs":     {access.Admin, onProcess},
	"supervisor.clearProcessLog":      {access.Admin, onProcess},
	"supervisor.clearAllProcessLogs":  {access.Admin, onAll},
	"supervisor.sendProcessStdin":     {access.Admin, onProcess},
	"supervisor.sendRemoteCommEvent":  {access.Admin, onAll},
	"system.listMethods":              {access.Read, onDaemon},
	"system.methodHelp":               {access.Read, onDaemon},
	"system.methodSignature":          {access.Read, onDaemon},
	"system.multicall":                {access.Read, onDaemon}, // each call is checked
	"drover.reloadProcess":            {access.Control, onProcess},
	"drover.reloadProcessGroup":       {access.Control, onGroup},
	"drover.reloadAllProcesses":       {access.Control, onAll},
	"drover.update":                   {access.Admin, onAll},
	"drover.scale":                    {access.Admin, onAll},
	"drover.rotateLogs":               {access.Admin, onProcess},
	"drover.rotateAllLogs":            {access.Admin, onAll},
	"drover.getProcessInfo":           {access.Read, onProcess},
	"drover.getAllProcessInfo":        {access.Read, onList},
	"drover.getAllProcessStatus":      {access.Read, onList},
	"drover.getAllProcessUsage":       {access.Read, onList},
	"drover.upgrade":                  {access.Admin, onAll},
	"drover.getVersion":               {access.Read, onAll},
	"drover.getImage":                 {access.Read, onAll},
}

// audit writes one line for a refused call or a call that changes
// something: who, what, on what, and how it ended.
func (d *dispatcher) audit(g grant, method string, params []any, err error) {
	if d.opts.Logger == nil {
		return
	}
	what := method
	if spec, ok := firstString(params); ok {
		what += " " + spec
	}
	result := "OK"
	if err != nil {
		result = ToFault(err).Error()
	}
	d.opts.Logger.Info("audit: " + g.who() + ": " + what + ": " + result)
}
