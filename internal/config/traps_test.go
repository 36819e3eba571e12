package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// loadWarnings loads "[supervisord]\n[program:web]\n" + body (so the
// body's first line is line 3) and returns the warnings and the path.
func loadWarnings(t *testing.T, body string) ([]Warning, *Config, string) {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "supervisord.conf")
	if err := os.WriteFile(conf, []byte("[supervisord]\n[program:web]\n"+body), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(conf, Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	return cfg.Warnings, cfg, conf
}

// TestPresetTraps: one case per trap drover check knows, each asserting
// the warning's text and its file:line (the line of the option at fault).
func TestPresetTraps(t *testing.T) {
	const sock = "sockets = tcp://127.0.0.1:8080\nready = http://{probe}/\n"
	for _, c := range []struct {
		name, body string
		line       int    // of the warning
		option     string // of the warning
		want       string // in the message
	}{
		{"puma notify", "command = puma --bind-to-activated-sockets only config.ru\nserver = puma\nsockets = tcp://127.0.0.1:8080\nready = notify\n",
			6, "ready", "puma 5 sends READY=1 only with the sd_notify gem"},
		{"gunicorn notify", "command = gunicorn app:app\nserver = gunicorn\nsockets = tcp://127.0.0.1:8080\nready = notify\n",
			6, "ready", "gunicorn sends READY=1 before it imports the app"},
		{"puma stopsignal QUIT", "command = puma --bind-to-activated-sockets only config.ru\nserver = puma\n" + sock + "stopsignal = QUIT\n",
			7, "stopsignal", "SIGQUIT is not handled by puma: it dies at once, requests in flight fail; puma stops gracefully on SIGTERM"},
		{"puma stopsignal INT", "command = puma --bind-to-activated-sockets only config.ru\nserver = puma\n" + sock + "stopsignal = INT\n",
			7, "stopsignal", "SIGINT is puma's immediate stop: requests in flight fail; puma stops gracefully on SIGTERM"},
		{"puma stopsignal HUP", "command = puma --bind-to-activated-sockets only config.ru\nserver = puma\n" + sock + "stopsignal = HUP\n",
			7, "stopsignal", "SIGHUP is one puma must never get"},
		{"unicorn stopsignal TERM", "command = unicorn config.ru\nserver = unicorn\n" + sock + "stopsignal = TERM\n",
			7, "stopsignal", "SIGTERM is unicorn's immediate stop: requests in flight fail; unicorn stops gracefully on SIGQUIT"},
		{"gunicorn stopsignal QUIT", "command = gunicorn app:app\nserver = gunicorn\n" + sock + "stopsignal = QUIT\n",
			7, "stopsignal", "SIGQUIT is gunicorn's immediate stop"},
		{"starman graceful_stop_signal TERM", "command = starman --disable-keepalive app.psgi\nserver = starman\n" + sock + "graceful_stop_signal = TERM\n",
			7, "graceful_stop_signal", "SIGTERM is starman's immediate stop: requests in flight fail; starman stops gracefully on SIGQUIT"},
		{"puma reload_signal HUP", "command = puma --bind-to-activated-sockets only config.ru\nserver = puma\n" + sock + "reload = signal\nreload_signal = HUP\n",
			8, "reload_signal", "SIGHUP is one puma must never get (it stops it, drops requests or re-execs it); puma reloads in place on SIGUSR1"},
		{"gunicorn reexec on sockets", "command = gunicorn app:app\nserver = gunicorn\n" + sock + "reload = reexec\nreload_signal = USR2\n",
			7, "reload", "gunicorn 20.1's own re-exec (USR2) fails with inherited sockets"},
		{"gunicorn --graceful-timeout", "command = gunicorn --graceful-timeout 60 app:app\nserver = gunicorn\n" + sock,
			3, "command", "gunicorn --graceful-timeout 60 is longer than graceful_timeout (30s)"},
		{"no ready", "command = unicorn config.ru\nserver = unicorn\nsockets = tcp://127.0.0.1:8080\n",
			4, "server", "no ready=: a new generation counts as ready after startsecs (1s)"},
		{"puma without the flag", "command = puma -b tcp://127.0.0.1:8080 config.ru\nserver = puma\nsockets = tcp://127.0.0.1:8080\n",
			3, "command", "puma without --bind-to-activated-sockets only closes the inherited sockets"},
		{"gunicorn -b", "command = gunicorn -b 127.0.0.1:8000 app:app\nserver = gunicorn\n" + sock,
			3, "command", "gunicorn ignores -b 127.0.0.1:8000 when drover passes LISTEN_FDS"},
		{"gunicorn --bind=", "command = gunicorn --bind=unix:/run/app.sock app:app\nserver = gunicorn\n" + sock,
			3, "command", "gunicorn ignores -b unix:/run/app.sock"},
		{"gunicorn --pid", "command = gunicorn --pid /run/g.pid app:app\nserver = gunicorn\n" + sock,
			3, "command", "gunicorn --pid: a new generation finds the old one's pid"},
		{"gunicorn --daemon", "command = gunicorn -D app:app\nserver = gunicorn\n" + sock,
			3, "command", "gunicorn --daemon detaches from drover"},
		{"starman --listen", "command = starman --listen 127.0.0.1:5000 --disable-keepalive app.psgi\nserver = starman\n" + sock,
			3, "command", "starman takes its sockets from SERVER_STARTER_PORT under drover: --listen/--port do not choose"},
		{"starman --port", "command = starman --port 5000 --disable-keepalive app.psgi\nserver = starman\n" + sock,
			3, "command", "--listen/--port do not choose what it serves"},
		{"starman --pid", "command = starman --pid /run/s.pid --disable-keepalive app.psgi\nserver = starman\n" + sock,
			3, "command", "starman --pid: generations would share one pidfile"},
		{"starman --daemonize", "command = starman --daemonize --disable-keepalive app.psgi\nserver = starman\n" + sock,
			3, "command", "starman --daemonize detaches from drover"},
		{"starman keep-alive", "command = starman app.psgi\nserver = starman\n" + sock,
			3, "command", "starman without --disable-keepalive"},
		{"starman stopasgroup", "command = starman --disable-keepalive app.psgi\nserver = starman\n" + sock + "stopasgroup = true\n",
			7, "stopasgroup", "the master must get it alone; drop stopasgroup"},
		{"starman unix socket", "command = starman --disable-keepalive app.psgi\nserver = starman\nsockets = unix:///run/app.sock\nready = http://{probe}/\n",
			5, "sockets", "starman treats every inherited socket as TCP: connections to unix:///run/app.sock are reset"},
		{"unicorn -l", "command = unicorn -l 127.0.0.1:9000 config.ru\nserver = unicorn\n" + sock,
			3, "command", "unicorn -l 127.0.0.1:9000 is not one of sockets="},
		{"unicorn -p", "command = unicorn -p 9000 config.ru\nserver = unicorn\n" + sock,
			3, "command", "unicorn -l 9000 is not one of sockets="},
		{"unicorn -D", "command = unicorn -D config.ru\nserver = unicorn\n" + sock,
			3, "command", "unicorn -D detaches from drover"},
		{"unicorn -P", "command = unicorn -P /run/u.pid config.ru\nserver = unicorn\n" + sock,
			3, "command", "unicorn -P: a new generation finds the old one's pid"},
	} {
		t.Run(c.name, func(t *testing.T) {
			warns, _, conf := loadWarnings(t, c.body)
			if len(warns) != 1 {
				t.Fatalf("%d warnings, want 1: %v\n%s", len(warns), warns, c.body)
			}
			w := warns[0]
			if w.Pos.File != conf || w.Pos.Line != c.line || w.Option != c.option || !strings.Contains(w.Msg, c.want) {
				t.Errorf("got %s (line %d, option %q)\nwant line %d, option %q, text %q", w, w.Pos.Line, w.Option, c.line, c.option, c.want)
			}
			if s := w.String(); !strings.HasPrefix(s, fmt.Sprintf("%s:%d: [program:web] %s: ", conf, c.line, c.option)) {
				t.Errorf("printed as %q", s)
			}
		})
	}
}

// TestPresetTrapsQuiet: what is right draws no warning: -l on one of the
// sockets, -b fd://, the graceful signal written out, notify for a server
// that does not lie about it, no flags without sockets=.
func TestPresetTrapsQuiet(t *testing.T) {
	for _, body := range []string{
		"command = unicorn -l 127.0.0.1:8080 -c u.rb config.ru\nserver = unicorn\nsockets = tcp://127.0.0.1:8080\nready = http://{probe}/\nstopsignal = QUIT\n",
		"command = unicorn --listen=/run/u.sock config.ru\nserver = unicorn\nsockets = unix:///run/u.sock\nready = http://{probe}/\n",
		"command = gunicorn -b fd://3 app:app\nserver = gunicorn\nsockets = tcp://127.0.0.1:8080\nready = http://{probe}/\n",
		"command = puma -C p.rb --bind-to-activated-sockets=only config.ru\nserver = puma\nsockets = tcp://127.0.0.1:8080\nstopsignal = TERM\n",
		"command = /srv/app/server\nsockets = tcp://127.0.0.1:8080\nready = notify\nstopsignal = INT\n",
		"command = puma -C p.rb --bind-to-activated-sockets only config.ru\nserver = puma\nsockets = tcp://127.0.0.1:8080\nreload = signal\nreload_signal = USR1\n",
		"command = gunicorn --graceful-timeout 30 app:app\nserver = gunicorn\nsockets = tcp://127.0.0.1:8080\nready = http://{probe}/\n",
		"command = gunicorn -c g.py app:app\nserver = gunicorn\nreload = reexec\nreload_signal = USR2\n",
		// Without sockets= the server binds its own port: its flags are its business.
		"command = puma -b tcp://127.0.0.1:9292 config.ru\nserver = puma\n",
		"command = unicorn -l 127.0.0.1:8080 config.ru\nserver = unicorn\nreload = signal\n",
	} {
		if warns, _, _ := loadWarnings(t, body); len(warns) != 0 {
			t.Errorf("%v\n%s", warns, body)
		}
	}
}

// TestPresetStopSignalDefault: a server= program without stopsignal=
// stops with its server's graceful stop (TERM is unicorn's and starman's
// immediate stop); a written stopsignal, or no server=, keeps TERM.
func TestPresetStopSignalDefault(t *testing.T) {
	for _, c := range []struct {
		body string
		want syscall.Signal
	}{
		{"command = unicorn config.ru\nserver = unicorn\n", syscall.SIGQUIT},
		{"command = starman --disable-keepalive app.psgi\nserver = starman\n", syscall.SIGQUIT},
		{"command = puma config.ru\nserver = puma\n", syscall.SIGTERM},
		{"command = unicorn config.ru\nserver = unicorn\nstopsignal = QUIT\n", syscall.SIGQUIT},
		{"command = /bin/cat\n", syscall.SIGTERM},
		{"command = /bin/cat\nsockets = tcp://127.0.0.1:8080\nready = http://{probe}/\n", syscall.SIGTERM},
	} {
		_, cfg, _ := loadWarnings(t, c.body)
		if got := cfg.Groups[0].Processes[0].StopSignal; got != c.want {
			t.Errorf("stopsignal %v, want %v\n%s", got, c.want, c.body)
		}
	}
}
