package config

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// maxNumprocs bounds numprocs: supervisord would try to build them all.
const maxNumprocs = 65536

// processes expands one [program:x]/[eventlistener:x]/[fcgi-program:x]
// section into its processes, reading each option in the context 4.2 uses:
// section-level options see here, program_name, group_name, host_node_name
// and ENV_*; per-process ones also process_num, numprocs and the program's
// own environment= as ENV_*.
func (l *loader) processes(sec *iniSection, groupName string) []*Process {
	prog, err := checkName(sec.name[strings.IndexByte(sec.name, ':')+1:])
	if err != nil {
		l.e.addErr(sec.pos, sec.name, "", err)
		return nil
	}
	common := expansions{"here": strVal(l.here), "program_name": strVal(prog),
		"host_node_name": strVal(l.o.Hostname), "group_name": strVal(groupName)}
	// Process options use the program defaults in every kind of section:
	// 4.2 gives listener processes priority 999 (their pool gets -1).
	g := l.getter(sec, kindProgram, l.envX.with(common))
	errsBefore := len(l.e.list)

	t := Process{Pos: sec.pos, Program: prog, Group: groupName, UID: -1, Umask: -1}
	t.Priority = g.int("priority")
	t.Autostart = g.bool("autostart")
	t.Autorestart, _ = conv(g, "autorestart", autorestart)
	t.StartSecs = time.Duration(g.int("startsecs")) * time.Second
	t.StartRetries = g.int("startretries")
	t.StopSignal, _ = conv(g, "stopsignal", signalNumber)
	t.StopWait = time.Duration(g.int("stopwaitsecs")) * time.Second
	t.StopAsGroup = g.bool("stopasgroup")
	t.KillAsGroup = t.StopAsGroup
	if g.has("killasgroup") {
		t.KillAsGroup = g.bool("killasgroup")
	}
	t.ExitCodes, _ = conv(g, "exitcodes", exitCodes)
	t.RedirectStderr = g.bool("redirect_stderr")
	numprocs := g.int("numprocs")
	start := g.int("numprocs_start")
	envText, _, _ := g.raw("environment")
	t.Stdout.CaptureMaxBytes = g.bytes("stdout_capture_maxbytes")
	t.Stdout.EventsEnabled = g.bool("stdout_events_enabled")
	t.Stderr.CaptureMaxBytes = g.bytes("stderr_capture_maxbytes")
	t.Stderr.EventsEnabled = g.bool("stderr_events_enabled")
	t.ServerURL = "AUTO"
	if u, ok := g.str("serverurl"); ok && pyStrip(u) != "" && strings.ToUpper(pyStrip(u)) != "AUTO" {
		t.ServerURL = u
	}
	if u, ok := g.str("user"); ok {
		t.User = u
		if info, err := l.lookupUser(u); err != nil {
			g.fail("user", err)
		} else {
			t.UID, t.GID, t.Groups, t.HomeDir = info.UID, info.GID, info.Groups, info.HomeDir
		}
	}
	if m, ok := conv(g, "umask", octal); ok {
		t.Umask = int(m)
	}
	socketsText, _, _ := g.raw("sockets")
	if strings.HasPrefix(sec.name, kindProgram+":") {
		// drover's options are read once, as the first process sees them:
		// sockets= may name %(process_num) (each process its own socket),
		// and the defaults depend on it.
		first := l.getter(sec, kindProgram, l.envX.with(common).with(expansions{"process_num": intVal(start), "numprocs": intVal(numprocs)}))
		t.Drover = l.buildDrover(first)
		if numprocs > 1 && len(t.Drover.Sockets) > 0 && !strings.Contains(socketsText, "%(process_num)") {
			g.failf("sockets", "must contain %%(process_num) when numprocs > 1: each process binds its own (e.g. tcp://127.0.0.1:80%%(process_num)02d)")
		}
		// A server= program stops the way its server stops gracefully
		// unless stopsignal= says otherwise: TERM is unicorn's and
		// starman's immediate stop.
		if t.Drover.Server.Name != "" && !g.has("stopsignal") {
			t.StopSignal = t.Drover.Server.GracefulStop
		}
	} else {
		for _, k := range slices.Concat(containerOptions, []string{"depends_on"}, backoffOptions, healthOptions) {
			if g.has(k) {
				g.warn(k, "ignored: only [program:x] sections have it")
			}
		}
	}
	envPaths, fileEnv, _ := l.envFiles(g)
	t.Drover.EnvFiles = envPaths
	nameText, _, _ := g.raw("process_name")
	if _, err := checkName(nameText); err != nil {
		g.fail("process_name", err)
	}
	if numprocs > 1 && !strings.Contains(nameText, "%(process_num)") {
		at := g.pos("process_name")
		if !g.has("process_name") {
			at = g.pos("numprocs") // the default name; the cause is numprocs
		}
		l.e.add(at, sec.name, "process_name", "%q must contain %%(process_num) when numprocs > 1 (e.g. %%(program_name)s_%%(process_num)02d)", nameText)
	}
	if numprocs > l.maxNumprocs {
		g.failf("numprocs", "%d is more than drover's limit of %d", numprocs, l.maxNumprocs)
		numprocs = 0
	}
	if numprocs < 1 && g.has("numprocs") {
		l.e.warn(g.pos("numprocs"), sec.name, "numprocs", "%d starts no process", numprocs)
	}
	if t.StopAsGroup && !t.KillAsGroup {
		g.failf("killasgroup", "cannot be false when stopasgroup is true (stopping the group implies killing it)")
	}
	failed := len(l.e.list) > errsBefore
	if failed && numprocs > 1 {
		numprocs = 1 // still report the per-process options' errors once
	}

	var out []*Process
	for n := start; n < start+numprocs; n++ {
		before := len(l.e.list)
		p := t // copy of the section-level options
		p.ProcessNum = n
		exp := l.envX.with(common).with(expansions{"process_num": intVal(n), "numprocs": intVal(numprocs)})
		envExpanded, err := pyFormat(envText, exp)
		var own Env
		if err == nil {
			own, err = parseEnv(envExpanded)
		}
		if err != nil {
			g.fail("environment", err)
		}
		ownX := expansions{}
		for _, kv := range own {
			ownX["ENV_"+kv.Key] = strVal(kv.Value)
		}
		exp = exp.with(ownX)
		p.Environment = append(Env(nil), l.cfg.Supervisord.Environment...)
		for _, kv := range fileEnv { // environment_file: environment= wins
			p.Environment = p.Environment.set(kv.Key, kv.Value)
		}
		for _, kv := range own {
			p.Environment = p.Environment.set(kv.Key, kv.Value)
		}
		pg := l.getter(sec, kindProgram, exp)
		if n != start && strings.Contains(socketsText, "%(") {
			if v, ok := pg.str("sockets"); ok {
				if specs, err := ParseSockets(v); err == nil {
					p.Drover.Sockets = specs
				}
			}
		}
		p.Directory = pg.strOr("directory")
		p.Stdout = l.logTarget(pg, "stdout", p.Stdout)
		p.Stderr = l.logTarget(pg, "stderr", p.Stderr)
		if p.RedirectStderr {
			if p.Stderr.Path != "" {
				l.e.warn(pg.pos("stderr_logfile"), sec.name, "stderr_logfile", "ignored because redirect_stderr=true")
			}
			p.Stderr.Path, p.Stderr.Auto = "", false
		}
		if c, ok := pg.str("command"); ok {
			p.Command = c
			switch argv, err := shlexSplit(c); {
			case err != nil:
				p.ArgvErr = err.Error()
			case len(argv) == 0:
				// 4.2 loads this and fails every start with "bad command";
				// drover does the same, and check rejects it (Rejected).
				p.ArgvErr = "command is empty"
				l.e.warnings = append(l.e.warnings, Warning{Pos: pg.pos("command"), Section: sec.name, Option: "command",
					Msg: "the command is empty: every start fails (bad command)", Rejected: true})
			default:
				p.Argv = argv
			}
		} else if !pg.has("command") {
			pg.failf("command", "the section has no command=; supervisord requires one")
		}
		if name, err := pyFormat(nameText, exp); err != nil {
			pg.fail("process_name", err)
		} else if p.Name, err = checkName(name); err != nil {
			pg.fail("process_name", err)
		} else if p.Name == "" {
			pg.failf("process_name", "the name is empty")
		}
		if n == start && strings.HasPrefix(sec.name, kindProgram+":") {
			l.presetTraps(pg, &p) // once per section, not per process
		}
		pp := p
		out = append(out, &pp)
		if len(l.e.list) > before {
			return nil // one process's errors are enough
		}
	}
	if failed {
		return nil
	}
	return out
}

// logTarget reads one stream's log options for one process. The logfile
// value is expanded twice, as in 4.2, so "%%" cannot be used in it.
func (l *loader) logTarget(g *getter, stream string, t LogTarget) LogTarget {
	key := stream + "_logfile"
	t.Backups = g.int(stream + "_logfile_backups")
	t.MaxBytes = g.bytes(stream + "_logfile_maxbytes")
	t.Syslog = g.bool(stream + "_syslog")
	v, ok := g.str(key)
	if !ok {
		return t
	}
	if g.has(key) {
		twice, err := pyFormat(v, g.exp)
		if err != nil {
			g.fail(key, fmt.Errorf("%w (supervisord expands %s twice, so %%%% cannot be used in it)", err, key))
			return t
		}
		v = twice
	}
	switch strings.ToLower(v) {
	case "none", "off":
	case "auto":
		t.Auto = true
		if t.MaxBytes == 0 {
			l.e.warn(g.pos(key), g.sec.name, key, "AUTO log without rotation (%s_logfile_maxbytes=0) can fill the disk", stream)
		}
	case "syslog":
		l.e.warn(g.pos(key), g.sec.name, key, "%s=syslog is deprecated; use %s_syslog=true", key, stream)
		t.Syslog = true
	default:
		p, err := l.existingDirpath(v)
		if err != nil {
			g.fail(key, err)
			return t
		}
		t.Path = p
	}
	return t
}
