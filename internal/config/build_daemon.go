package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// buildSupervisord reads [supervisord]. Its options see ENV_* of the daemon
// and here; environment= is expanded twice, as in 4.2.
func (l *loader) buildSupervisord(sec *iniSection) {
	g := l.getter(sec, kindSupervisord, l.envX.with(expansions{"here": strVal(l.here)}))
	s := &l.cfg.Supervisord
	if n, ok := conv(g, "minfds", pyInt); ok && n > 0 {
		s.MinFDs = uint64(n)
	}
	if n, ok := conv(g, "minprocs", pyInt); ok && n > 0 {
		s.MinProcs = uint64(n)
	}
	if d, ok := g.str("directory"); ok {
		if v, err := l.existingDirectory(d); err != nil {
			g.fail("directory", err)
		} else {
			s.Directory = v
		}
	}
	if u, ok := g.str("user"); ok {
		s.User = u
		if _, err := l.lookupUser(u); err != nil {
			g.fail("user", err)
		}
	}
	s.Umask, _ = conv(g, "umask", octal)
	if lf, ok := conv(g, "logfile", l.existingDirpath); ok {
		s.Logfile = lf
		if lf != "syslog" {
			s.Logfile = absClean(l.o.Dir, lf)
		}
	}
	s.LogfileMaxBytes = g.bytes("logfile_maxbytes")
	s.LogfileBackups = g.int("logfile_backups")
	s.LogLevel, _ = conv(g, "loglevel", logLevel)
	if pf, ok := conv(g, "pidfile", l.existingDirpath); ok {
		s.Pidfile = absClean(l.o.Dir, pf)
	}
	s.Identifier = g.strOr("identifier")
	s.Nodaemon = g.bool("nodaemon")
	s.Silent = g.bool("silent")
	s.ChildLogDir, _ = conv(g, "childlogdir", l.existingDirectory)
	s.NoCleanup = g.bool("nocleanup")
	s.StripANSI = g.bool("strip_ansi")
	if first, ok := g.str("environment"); ok {
		exp := l.envX.with(expansions{"here": strVal(l.here), "host_node_name": strVal(l.o.Hostname)})
		second, err := pyFormat(first, exp)
		if err != nil {
			err = fmt.Errorf("%w (supervisord 4.2 expands [supervisord] environment= twice, so %%%% cannot be used in it)", err)
		} else {
			s.Environment, err = parseEnv(second)
		}
		if err != nil {
			g.fail("environment", err)
		}
	}
	for _, kv := range s.Environment {
		l.envX["ENV_"+kv.Key] = strVal(kv.Value)
	}
}

// lookupUser resolves a user name or uid through the Host.
func (l *loader) lookupUser(name string) (*UserInfo, error) {
	u, err := l.o.Host.LookupUser(name)
	if err != nil {
		return nil, &valueError{msg: "unknown user " + strQuote(name) + ": name an existing user or uid", cause: ErrUnknownUser}
	}
	return u, nil
}

// userGroup is 4.2's colon_separated_user_group: "user" or "user:group".
func (l *loader) userGroup(s string) (int, int, error) {
	name, grp, hasGroup := strings.Cut(s, ":")
	u, err := l.lookupUser(name)
	if err != nil {
		return 0, 0, &valueError{msg: "invalid user:group " + strQuote(s) + ": unknown user " + strQuote(name), cause: ErrUnknownUser}
	}
	gid := -1
	if hasGroup {
		if gid, err = l.o.Host.LookupGroup(grp); err != nil {
			return 0, 0, &valueError{msg: "invalid user:group " + strQuote(s) + ": unknown group " + strQuote(grp), cause: ErrUnknownGroup}
		}
	}
	return u.UID, gid, nil
}

// buildRPC accepts [rpcinterface:x] sections naming the standard factory
// only: any other factory is Python code drover cannot run.
func (l *loader) buildRPC() {
	for _, sec := range l.p.sections {
		if sectionKind(sec.name) != kindRPC {
			continue
		}
		g := l.getter(sec, kindRPC, scope{l.envX})
		const key = "supervisor.rpcinterface_factory"
		f, ok := g.str(key)
		if !ok {
			if !g.has(key) {
				g.failf("", "section does not set %s; use %s = %s", key, key, StandardRPCFactory)
			}
			continue
		}
		if normalizeSpec(f) != StandardRPCFactory {
			g.failf(key, "%q names Python code, which drover cannot load; only %s is supported (drover serves the standard supervisor.* API)", f, StandardRPCFactory)
			continue
		}
		for _, k := range l.p.options(sec) {
			if k != key {
				g.failf(k, "the standard rpcinterface factory takes no options (supervisord 4.2 fails at startup with it)")
			}
		}
	}
}

// specSpace is compiled on first use, not at package init.
var specSpace = lazy[*regexp.Regexp]{make: func() *regexp.Regexp { return regexp.MustCompile(`\s*:\s*`) }}

func normalizeSpec(s string) string { return specSpace.get().ReplaceAllString(pyStrip(s), ":") }

// buildServers reads [inet_http_server*] then [unix_http_server*] sections,
// in 4.2's order. Their options see ENV_* only (unix file= also here).
func (l *loader) buildServers() {
	for _, kind := range []string{kindInetServer, kindUnixServer} {
		for _, sec := range l.p.sections {
			if sectionKind(sec.name) != kind {
				continue
			}
			exp := scope{l.envX}
			if kind == kindUnixServer {
				exp = l.envX.with(expansions{"here": strVal(l.here)})
			}
			g := l.getter(sec, kind, scope{l.envX})
			srv := Server{Pos: sec.pos, Section: sec.name, ChownUID: -1, ChownGID: -1}
			user, _ := g.str("username")
			pass, _ := g.str("password")
			if g.has("username") != g.has("password") {
				g.failf("", "username and password must be set together (or neither)")
			}
			srv.Username, srv.Password = user, pass
			if kind == kindInetServer {
				srv.Kind = ServerInet
				if p, ok := g.str("port"); ok {
					h, n, err := inetAddress(p)
					if err != nil {
						g.fail("port", err)
					}
					srv.Host, srv.Port = h, n
				} else if !g.has("port") {
					g.failf("", "section has no port= value; use port = 127.0.0.1:9001")
				}
				l.serverTLS(g, &srv)
			} else {
				srv.Kind = ServerUnix
				if f, ok := g.strWith("file", exp); ok {
					srv.File = absClean(l.o.Dir, l.expandUser(pyStrip(f)))
				} else if !g.has("file") {
					g.failf("", "section has no file= value; use file = /run/supervisor.sock")
				}
				if c, ok := g.str("chown"); ok {
					uid, gid, err := l.userGroup(c)
					if err != nil {
						g.fail("chown", err)
					}
					srv.ChownUID, srv.ChownGID = uid, gid
				}
				var m os.FileMode
				m, _ = conv(g, "chmod", octal)
				srv.Chmod = m
			}
			l.cfg.Servers = append(l.cfg.Servers, srv)
		}
	}
}

// serverTLS reads an inet server's tls_* options and loads the files, so
// that a certificate that does not load is a config error with file:line.
func (l *loader) serverTLS(g *getter, srv *Server) {
	cert, hasCert := g.str("tls_cert")
	key, hasKey := g.str("tls_key")
	ca, hasCA := g.str("tls_client_ca")
	if hasCert != hasKey {
		g.failf("", "tls_cert and tls_key must be set together")
		return
	}
	if hasCA && !hasCert {
		g.failf("tls_client_ca", "needs tls_cert and tls_key (mutual TLS is TLS first)")
		return
	}
	if !hasCert {
		return
	}
	srv.TLSCert, srv.TLSKey = absClean(l.o.Dir, l.expandUser(cert)), absClean(l.o.Dir, l.expandUser(key))
	if _, err := tls.LoadX509KeyPair(srv.TLSCert, srv.TLSKey); err != nil {
		g.fail("tls_cert", verr("%v", err))
	}
	if hasCA {
		srv.TLSClientCA = absClean(l.o.Dir, l.expandUser(ca))
		pem, err := os.ReadFile(srv.TLSClientCA)
		if err == nil && !x509.NewCertPool().AppendCertsFromPEM(pem) {
			err = errors.New("no PEM certificate in it")
		}
		if err != nil {
			g.fail("tls_client_ca", verr("%v", err))
		}
	}
}

// buildCtl reads [supervisorctl] as supervisorctl does (ENV_* of the
// environment only, here). Problems there do not stop the daemon, so they
// are warnings plus Supervisorctl.Err.
func (l *loader) buildCtl() {
	sec, ok := l.p.byName[kindCtl]
	if !ok {
		return
	}
	saved := l.e.list
	l.e.list = nil
	env := expansions{}
	for k, v := range l.env {
		env["ENV_"+k] = strVal(v)
	}
	g := l.getter(sec, kindCtl, env.with(expansions{"here": strVal(l.here)}))
	c := &l.cfg.Supervisorctl
	c.Present = true
	c.ServerURL = g.strOr("serverurl")
	if p, ok := strings.CutPrefix(c.ServerURL, "unix://"); ok {
		c.ServerURL = "unix://" + absClean(l.o.Dir, l.expandUser(p))
	}
	plain := l.getter(sec, kindCtl, scope{env})
	c.Prompt = plain.strOr("prompt")
	c.Username = plain.strOr("username")
	c.Password = plain.strOr("password")
	if h := g.strOr("history_file"); h != "" {
		c.HistoryFile = absClean(l.o.Dir, l.expandUser(h))
	}
	if len(l.e.list) > 0 {
		c.Err = l.e.list
		for _, e := range l.e.list {
			l.e.warnings = append(l.e.warnings, Warning{Pos: e.Pos, Section: e.Section, Option: e.Option, Msg: e.Msg + " (supervisorctl would refuse this; the daemon ignores it)"})
		}
	}
	l.e.list = saved
}
