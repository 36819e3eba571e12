package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func loadProgram(t *testing.T, body string) (*Process, []Warning, error) {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "supervisord.conf")
	os.WriteFile(conf, []byte("[supervisord]\n[program:web]\ncommand = /bin/true\n"+body), 0o644)
	cfg, err := Load(conf, Options{})
	if err != nil {
		return nil, nil, err
	}
	return cfg.Groups[0].Processes[0], cfg.Warnings, nil
}

func TestDroverOptions(t *testing.T) {
	p, warns, err := loadProgram(t, "server = unicorn\nsockets = tcp://127.0.0.1:8080, unix:///run/app.sock\nready = http://{probe}/healthz\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("drover's own options warned: %v", warns)
	}
	d := p.Drover
	unicorn, _ := LookupPreset("unicorn")
	ready, _ := ParseReady("http://{probe}/healthz")
	socks, _ := ParseSockets("tcp://127.0.0.1:8080, unix:///run/app.sock")
	want := Drover{SocketUID: -1, SocketGID: -1, Sockets: socks, SocketBacklog: 1024,
		SocketMode: 0o660, Server: unicorn, Reload: ReloadBlueGreen, Ready: ready, ReadyTimeout: 60 * time.Second,
		GracefulStopSignal: syscall.SIGQUIT, GracefulTimeout: 30 * time.Second}
	if !d.equal(want) || d.Ready.Kind != ReadyHTTP || !d.Ready.ViaProbe || d.Sockets[1].Path != "/run/app.sock" {
		t.Errorf("got %+v\nwant %+v", d, want)
	}
	// The preset's own readiness is parsed once, here, like ready=.
	p, _, err = loadProgram(t, "server = puma\nsockets = tcp://127.0.0.1:8080\n")
	if err != nil || p.Drover.Ready.String() != "http://{probe}/" || !p.Drover.Ready.ViaProbe || p.Drover.Server.Name != "puma" {
		t.Errorf("puma defaults: %+v %v", p.Drover, err)
	}
	// Without sockets= the server binds its own port and closes the
	// unused probe socket: no default readiness then.
	p, _, err = loadProgram(t, "server = puma\ncommand = puma -b tcp://127.0.0.1:9292 config.ru\n")
	if err != nil || p.Drover.Ready.Kind != "" {
		t.Errorf("puma without sockets: ready %q %v", p.Drover.Ready, err)
	}

	p, _, err = loadProgram(t, "server = puma\nreload = reexec\n")
	if err != nil || p.Drover.ReloadSignal != syscall.SIGUSR2 || p.Drover.GracefulStopSignal != syscall.SIGTERM {
		t.Errorf("puma reexec: %+v %v", p.Drover, err)
	}
	p, _, err = loadProgram(t, "")
	if err != nil || p.Drover.Reload != ReloadRestart || p.Drover.Server.Name != "" || p.Drover.Ready.Kind != "" {
		t.Errorf("plain program: %+v %v", p.Drover, err)
	}
}

func TestDroverOptionErrors(t *testing.T) {
	for _, c := range []struct{ body, option string }{
		{"server = nginx\n", "server"},
		{"sockets = http://x\n", "sockets"},
		{"reload = bluegreen\n", "reload"}, // needs sockets
		{"reload = signal\n", "reload"},    // needs a signal
		{"reload = sometimes\n", "reload"},
		{"ready = ftp://x\n", "ready"},
		{"socket_backlog = 0\n", "socket_backlog"},
		{"ready_timeout = -1\n", "ready_timeout"},
		{"reload_signal = NOPE\n", "reload_signal"},
		// A tcp probe of a socket drover holds always connects.
		{"ready = tcp://127.0.0.1:8080\nsockets = tcp://127.0.0.1:8080\n", "ready"},
	} {
		_, _, err := loadProgram(t, c.body)
		if err == nil || !strings.Contains(err.Error(), "] "+c.option+":") || !strings.Contains(err.Error(), "supervisord.conf:4") {
			t.Errorf("%q: error %v, want one naming %s at line 4", c.body, err, c.option)
		}
	}
}

// TestReadyOnOwnedSocketWarns: an http probe of a socket every generation
// shares may be answered by the old generation during a hand-off.
func TestReadyOnOwnedSocketWarns(t *testing.T) {
	_, warns, err := loadProgram(t, "sockets = tcp://127.0.0.1:8080\nready = http://127.0.0.1:8080/up\n")
	if err != nil || len(warns) != 1 || !strings.Contains(warns[0].Msg, "{probe}") || warns[0].Pos.Line != 5 {
		t.Errorf("warnings %+v, %v", warns, err)
	}
}

func TestDroverOptionChangeIsAChange(t *testing.T) {
	a, _, _ := loadProgram(t, "sockets = tcp://127.0.0.1:8080\n")
	b, _, _ := loadProgram(t, "sockets = tcp://127.0.0.1:8081\n")
	if a.Equal(b) {
		t.Errorf("a changed sockets= compares equal: update would not apply it")
	}
}

// With numprocs, sockets= names %(process_num): each process binds its own
// socket (one address for all of them could bind only once).
func TestSocketsPerProcess(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "supervisord.conf")
	os.WriteFile(conf, []byte("[supervisord]\n[program:web]\ncommand = /bin/true\nprocess_name = web_%(process_num)d\n"+
		"numprocs = 3\nnumprocs_start = 1\nsockets = tcp://127.0.0.1:81%(process_num)02d\n"), 0o644)
	cfg, err := Load(conf, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range cfg.Groups[0].Processes {
		if want := fmt.Sprintf("127.0.0.1:81%02d", i+1); len(p.Drover.Sockets) != 1 || p.Drover.Sockets[0].AddrPort.String() != want ||
			p.Drover.Reload != ReloadBlueGreen {
			t.Errorf("%s: %+v, want %s", p.Name, p.Drover, want)
		}
	}
	_, _, err = loadProgram(t, "process_name = web_%(process_num)d\nnumprocs = 2\nsockets = tcp://127.0.0.1:8100\n")
	if err == nil || !strings.Contains(err.Error(), "supervisord.conf:6: [program:web] sockets: must contain %(process_num) when numprocs > 1") {
		t.Errorf("one address for every process: %v", err)
	}
}

// HandsOffTo: what a new generation takes at spawn can change; names, log
// files and sockets cannot (they outlive generations), and only blue/green
// hands off.
func TestHandsOffTo(t *testing.T) {
	base := "sockets = tcp://127.0.0.1:8080\nserver = puma\nenvironment = A=\"1\"\n"
	a, _, err := loadProgram(t, base)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		body string
		want bool
	}{
		{base, true},
		{"sockets = tcp://127.0.0.1:8080\nserver = puma\nenvironment = A=\"2\"\n", true},
		{base + "directory = /srv\nstopwaitsecs = 30\nready_timeout = 5\n", true},
		{"sockets = tcp://127.0.0.1:8081\nserver = puma\nenvironment = A=\"1\"\n", false},
		{base + "stdout_logfile = /var/log/web.log\n", false},
		{base + "reload = restart\n", false},
		{"environment = A=\"1\"\n", false},
	} {
		b, _, err := loadProgram(t, c.body)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.HandsOffTo(b); got != c.want {
			t.Errorf("%q: HandsOffTo %v, want %v", c.body, got, c.want)
		}
	}
}
