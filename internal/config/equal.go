package config

import "slices"

// Equal reports whether p and q are the same process config the way
// supervisord 4.2's reread compares them (ProcessConfig.__eq__): every
// option, the user by uid, the environment as a map; a log path is not
// compared when either side is AUTO. Positions and the owning program or
// group name are not compared.
func (p *Process) Equal(q *Process) bool {
	if p == nil || q == nil {
		return p == q
	}
	return p.Name == q.Name && p.UID == q.UID && p.Command == q.Command &&
		p.Directory == q.Directory && p.Umask == q.Umask && p.Priority == q.Priority &&
		p.Autostart == q.Autostart && p.Autorestart == q.Autorestart &&
		p.StartSecs == q.StartSecs && p.StartRetries == q.StartRetries &&
		p.Stdout.equal(q.Stdout) && p.Stderr.equal(q.Stderr) &&
		p.StopSignal == q.StopSignal && p.StopWait == q.StopWait &&
		p.StopAsGroup == q.StopAsGroup && p.KillAsGroup == q.KillAsGroup &&
		slices.Equal(p.ExitCodes, q.ExitCodes) && p.RedirectStderr == q.RedirectStderr &&
		p.Environment.equal(q.Environment) && p.ServerURL == q.ServerURL &&
		p.Drover.equal(q.Drover)
}

func (t LogTarget) equal(u LogTarget) bool {
	// supervisord's Config.__eq__ skips an option that is Automatic on
	// either side.
	if !t.Auto && !u.Auto && t.Path != u.Path {
		return false
	}
	return t.MaxBytes == u.MaxBytes && t.Backups == u.Backups &&
		t.CaptureMaxBytes == u.CaptureMaxBytes && t.EventsEnabled == u.EventsEnabled &&
		t.Syslog == u.Syslog && t.Format == u.Format && t.Rotate == u.Rotate
}

// equal compares as dicts: same keys with the same last values.
func (e Env) equal(f Env) bool {
	m := make(map[string]string, len(e))
	for _, kv := range e {
		m[kv.Key] = kv.Value
	}
	n := make(map[string]string, len(f))
	for _, kv := range f {
		n[kv.Key] = kv.Value
	}
	if len(m) != len(n) {
		return false
	}
	for k, v := range m {
		if w, ok := n[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Equal reports whether g and h are the same group config the way 4.2's
// reread compares them: kind, name, priority, the processes in order, and
// for listeners buffer_size, events and result_handler, for fcgi programs
// the socket URL.
func (g *Group) Equal(h *Group) bool {
	if g == nil || h == nil {
		return g == h
	}
	if g.Kind != h.Kind || g.Name != h.Name || g.Priority != h.Priority ||
		len(g.Processes) != len(h.Processes) {
		return false
	}
	for i := range g.Processes {
		if !g.Processes[i].Equal(h.Processes[i]) {
			return false
		}
	}
	switch g.Kind {
	case KindEventListener:
		return g.BufferSize == h.BufferSize && slices.Equal(g.Events, h.Events) &&
			g.ResultHandler == h.ResultHandler
	case KindFCGIProgram:
		return g.Socket == h.Socket
	}
	return true
}

// HandsOffTo reports whether a running generation of p can be replaced by
// one spawned from q without stopping the program: q reloads blue/green
// and differs from p only in what a new generation takes when it is
// spawned (command, environment, directory, user, umask, signals, timings,
// readiness...). The name, the log targets and the sockets must stay: the
// program's log files and listening sockets outlive its generations.
func (p *Process) HandsOffTo(q *Process) bool {
	if p == nil || q == nil || q.Drover.Reload != ReloadBlueGreen || len(q.Drover.Sockets) == 0 || q.EventListener {
		return false
	}
	// Equal lets AUTO match any path; the log files here must be the same.
	if p.Stdout.Auto != q.Stdout.Auto || p.Stderr.Auto != q.Stderr.Auto {
		return false
	}
	r := *q
	r.Name, r.Stdout, r.Stderr, r.RedirectStderr = p.Name, p.Stdout, p.Stderr, p.RedirectStderr
	d, o := &r.Drover, p.Drover
	d.Sockets, d.SocketBacklog, d.SocketMode, d.SocketOwner, d.SocketUID, d.SocketGID =
		o.Sockets, o.SocketBacklog, o.SocketMode, o.SocketOwner, o.SocketUID, o.SocketGID
	return r.Equal(q)
}
