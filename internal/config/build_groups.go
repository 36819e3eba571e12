package config

import (
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// buildGroups creates the process groups in 4.2's order ([group:x], then
// programs not in a group, event listeners, fcgi programs), then sorts them
// by (priority, name).
func (l *loader) buildGroups() {
	excluded := map[string]bool{}
	base := l.envX.with(expansions{"here": strVal(l.here)})
	for _, sec := range l.p.sections {
		if sectionKind(sec.name) != kindGroup {
			continue
		}
		g := l.getter(sec, kindGroup, base)
		name, err := checkName(sec.name[len(kindGroup)+1:])
		if err != nil {
			l.e.addErr(sec.pos, sec.name, "", err)
			continue
		}
		grp := &Group{Pos: sec.pos, Name: name, Kind: KindGroup, Priority: g.int("priority")}
		var groupDeps []Dependency
		if v, ok := g.str("depends_on"); ok {
			deps, err := parseDependsOn(v)
			if err != nil {
				g.fail("depends_on", err)
			}
			groupDeps = deps
		}
		list, _ := g.str("programs")
		if !g.has("programs") {
			l.e.warn(sec.pos, sec.name, "programs", "group has no programs= option, so it is empty")
		}
		for _, prog := range listOfStrings(list) {
			ps, pok := l.p.byName["program:"+prog]
			fs, fok := l.p.byName["fcgi-program:"+prog]
			switch {
			case !pok && !fok:
				g.failf("programs", "names unknown program or fcgi-program %q (defined: %s)", prog, l.programNames())
				continue
			case pok && fok:
				g.failf("programs", "%q is ambiguous: it exists as [program:%s] and [fcgi-program:%s]", prog, prog, prog)
				continue
			case !pok:
				ps = fs
			}
			excluded[ps.name] = true
			// 4.2 makes fcgi members plain processes: no socket.
			members := l.processes(ps, name)
			for _, p := range members {
				addDepends(p, groupDeps, g.pos("depends_on"))
			}
			grp.Processes = append(grp.Processes, members...)
		}
		l.addGroup(grp)
	}
	for _, sec := range l.p.sections {
		if sectionKind(sec.name) != kindProgram || excluded[sec.name] {
			continue
		}
		name, err := checkName(sec.name[len(kindProgram)+1:])
		if err != nil {
			l.e.addErr(sec.pos, sec.name, "", err)
			continue
		}
		g := l.getter(sec, kindProgram, base)
		grp := &Group{Pos: sec.pos, Name: name, Kind: KindProgram, Priority: g.int("priority")}
		grp.Processes = l.processes(sec, name)
		l.addGroup(grp)
	}
	for _, sec := range l.p.sections {
		if sectionKind(sec.name) == kindEventListener {
			l.eventListener(sec, base)
		}
	}
	for _, sec := range l.p.sections {
		if sectionKind(sec.name) == kindFCGI && !excluded[sec.name] {
			l.fcgiProgram(sec, base)
		}
	}
	sort.SliceStable(l.cfg.Groups, func(i, j int) bool {
		a, b := l.cfg.Groups[i], l.cfg.Groups[j]
		if a.Priority != b.Priority {
			return a.Priority < b.Priority
		}
		return a.Name < b.Name
	})
}

// listOfStrings is 4.2's list_of_strings: split on commas, strip each.
func listOfStrings(s string) []string {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = pyStrip(parts[i])
	}
	return parts
}

func (l *loader) programNames() string {
	var n []string
	for _, s := range l.p.sections {
		if k := sectionKind(s.name); k == kindProgram || k == kindFCGI {
			n = append(n, s.name[len(k)+1:])
		}
	}
	if len(n) == 0 {
		return "none"
	}
	return strings.Join(n, ", ")
}

// addGroup appends a group, refusing a second group of the same name and
// duplicate process names (4.2 silently keeps only one of each).
func (l *loader) addGroup(grp *Group) {
	if l.groups == nil {
		l.groups = map[string]*Group{}
	}
	if g, ok := l.groups[grp.Name]; ok {
		l.e.add(grp.Pos, "", "", "a second group named %q (the first is at %s:%d); supervisord would silently drop one", grp.Name, g.Pos.File, g.Pos.Line)
		return
	}
	l.groups[grp.Name] = grp
	seen := map[string]*Process{}
	for _, p := range grp.Processes {
		if q, ok := seen[p.Name]; ok {
			l.e.add(p.Pos, "", "process_name", "two processes named %q in group %q (programs %s and %s); supervisord would silently drop one", p.Name, grp.Name, q.Program, p.Program)
			return
		}
		seen[p.Name] = p
	}
	sort.SliceStable(grp.Processes, func(i, j int) bool {
		a, b := grp.Processes[i], grp.Processes[j]
		if a.Priority != b.Priority {
			return a.Priority < b.Priority
		}
		return a.Name < b.Name
	})
	l.cfg.Groups = append(l.cfg.Groups, grp)
}

// EventClassName is supervisord's class name for an event type name
// ("PROCESS_STATE" → "ProcessStateEvent"); "" if unknown. A switch, not a
// map, so that nothing is built at package init.
func EventClassName(name string) string {
	switch name {
	case "EVENT":
		return "Event"
	case "PROCESS_COMMUNICATION":
		return "ProcessCommunicationEvent"
	case "PROCESS_COMMUNICATION_STDERR":
		return "ProcessCommunicationStderrEvent"
	case "PROCESS_COMMUNICATION_STDOUT":
		return "ProcessCommunicationStdoutEvent"
	case "PROCESS_GROUP":
		return "ProcessGroupEvent"
	case "PROCESS_GROUP_ADDED":
		return "ProcessGroupAddedEvent"
	case "PROCESS_GROUP_REMOVED":
		return "ProcessGroupRemovedEvent"
	case "PROCESS_LIMIT_EXCEEDED": // drover's own (the limit watchdog)
		return "ProcessLimitExceededEvent"
	case "PROCESS_HEALTH_FAILED": // drover's own (health=)
		return "ProcessHealthFailedEvent"
	case "PROCESS_LOG":
		return "ProcessLogEvent"
	case "PROCESS_LOG_STDERR":
		return "ProcessLogStderrEvent"
	case "PROCESS_LOG_STDOUT":
		return "ProcessLogStdoutEvent"
	case "PROCESS_STATE":
		return "ProcessStateEvent"
	case "PROCESS_STATE_BACKOFF":
		return "ProcessStateBackoffEvent"
	case "PROCESS_STATE_EXITED":
		return "ProcessStateExitedEvent"
	case "PROCESS_STATE_FATAL":
		return "ProcessStateFatalEvent"
	case "PROCESS_STATE_RUNNING":
		return "ProcessStateRunningEvent"
	case "PROCESS_STATE_STARTING":
		return "ProcessStateStartingEvent"
	case "PROCESS_STATE_STOPPED":
		return "ProcessStateStoppedEvent"
	case "PROCESS_STATE_STOPPING":
		return "ProcessStateStoppingEvent"
	case "PROCESS_STATE_UNKNOWN":
		return "ProcessStateUnknownEvent"
	case "REMOTE_COMMUNICATION":
		return "RemoteCommunicationEvent"
	case "SUPERVISOR_STATE_CHANGE":
		return "SupervisorStateChangeEvent"
	case "SUPERVISOR_STATE_CHANGE_RUNNING":
		return "SupervisorRunningEvent"
	case "SUPERVISOR_STATE_CHANGE_STOPPING":
		return "SupervisorStoppingEvent"
	case "TICK":
		return "TickEvent"
	case "TICK_3600":
		return "Tick3600Event"
	case "TICK_5":
		return "Tick5Event"
	case "TICK_60":
		return "Tick60Event"
	}
	return ""
}

func (l *loader) eventListener(sec *iniSection, base scope) {
	g := l.getter(sec, kindEventListener, base)
	name, err := checkName(sec.name[len(kindEventListener)+1:])
	if err != nil {
		l.e.addErr(sec.pos, sec.name, "", err)
		return
	}
	grp := &Group{Pos: sec.pos, Name: name, Kind: KindEventListener, Priority: g.int("priority")}
	if n, ok := conv(g, "buffer_size", toInt); ok {
		if n < 1 {
			g.failf("buffer_size", "%d is invalid: the buffer must hold at least 1 event", n)
		}
		grp.BufferSize = n
	}
	if h, ok := g.str("result_handler"); ok {
		if normalizeSpec(h) != DefaultResultHandler {
			g.failf("result_handler", "%q names Python code, which drover cannot load; only %s is supported", h, DefaultResultHandler)
		}
		grp.ResultHandler = DefaultResultHandler
	}
	events, _ := g.str("events")
	seen := map[string]bool{}
	for _, e := range listOfStrings(events) {
		e = strings.ToUpper(e)
		if seen[e] {
			continue
		}
		seen[e] = true
		if EventClassName(e) == "" {
			g.failf("events", "unknown event type %q (e.g. PROCESS_STATE, PROCESS_STATE_EXITED, TICK_60, PROCESS_LOG)", e)
			continue
		}
		grp.Events = append(grp.Events, e)
	}
	if len(seen) == 0 {
		g.failf("events", "an event listener needs events=, e.g. events = PROCESS_STATE")
	}
	sort.Strings(grp.Events)
	if g.bool("redirect_stderr") {
		g.failf("redirect_stderr", "must be false for an event listener: stdout carries the listener protocol")
	}
	grp.Processes = l.processes(sec, name)
	for _, p := range grp.Processes {
		p.EventListener = true
	}
	l.addGroup(grp)
}

// tcpSocket is compiled on first use, not at package init.
var tcpSocket = lazy[*regexp.Regexp]{make: func() *regexp.Regexp { return regexp.MustCompile(`^tcp://([^\s:]+):(\d+)$`) }}

func (l *loader) fcgiProgram(sec *iniSection, base scope) {
	g := l.getter(sec, kindFCGI, base)
	name, err := checkName(sec.name[len(kindFCGI)+1:])
	if err != nil {
		l.e.addErr(sec.pos, sec.name, "", err)
		return
	}
	grp := &Group{Pos: sec.pos, Name: name, Kind: KindFCGIProgram, Priority: g.int("priority"),
		SocketOwnerUID: -1, SocketOwnerGID: -1}
	procUID := -1
	if u, ok := g.str("user"); ok {
		if info, err := l.lookupUser(u); err == nil {
			procUID = info.UID
		}
	}
	if n, ok := conv(g, "socket_backlog", toInt); ok {
		if n < 1 || n > 65535 {
			g.failf("socket_backlog", "%d is invalid: use 1 to 65535", n)
		}
		grp.SocketBacklog = n
	}
	if o, ok := g.str("socket_owner"); ok {
		grp.SocketOwner = o
		uid, gid, err := l.userGroup(o)
		if err != nil {
			g.fail("socket_owner", err)
		}
		grp.SocketOwnerUID, grp.SocketOwnerGID = uid, gid
	}
	mode, hasMode := conv(g, "socket_mode", octal)
	sock, ok := g.strWith("socket", base.with(expansions{"program_name": strVal(name)}))
	switch {
	case !ok && !g.has("socket"), ok && sock == "":
		g.failf("socket", "an fcgi-program needs socket=, e.g. socket = unix:///run/app.sock or tcp://127.0.0.1:9000")
	case !ok:
	case strings.HasPrefix(sock, "unix://"):
		p := sock[len("unix://"):]
		if !strings.HasPrefix(p, "/") {
			g.failf("socket", "unix socket path %q is not absolute", p)
			break
		}
		grp.Socket = "unix://" + path.Clean(l.expandUser(p))
		if grp.SocketOwnerUID < 0 && procUID >= 0 && procUID != l.o.Host.UID() {
			grp.SocketOwnerUID = procUID
			if u, err := l.o.Host.LookupUser(strconv.Itoa(procUID)); err == nil {
				grp.SocketOwnerGID = u.GID
			}
		}
		grp.SocketMode = 0o700
		if hasMode {
			grp.SocketMode = mode
		}
	case g.has("socket_owner") || g.has("socket_mode"):
		g.failf("socket", "socket_owner and socket_mode only apply to unix:// sockets")
	default:
		m := tcpSocket.get().FindStringSubmatch(sock)
		n := -1
		if m != nil {
			n, _ = toInt(m[2])
		}
		if n < 1 || n > 65535 {
			g.failf("socket", "%q is not a valid socket: use unix:///absolute/path or tcp://host:port", sock)
			break
		}
		grp.Socket = "tcp://" + strings.ToLower(m[1]) + ":" + strconv.Itoa(n)
	}
	grp.Processes = l.processes(sec, name)
	for _, p := range grp.Processes {
		p.EventListener = true
	}
	l.addGroup(grp)
}
