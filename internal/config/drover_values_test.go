package config

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseSockets(t *testing.T) {
	got, err := ParseSockets("tcp://127.0.0.1:8080, tcp://[::1]:8081,unix:///run/./app.sock , admin=unix://@drover-admin")
	if err != nil {
		t.Fatal(err)
	}
	want := []Socket{
		{Name: "sock0", Network: TCP, AddrPort: netip.MustParseAddrPort("127.0.0.1:8080")},
		{Name: "sock1", Network: TCP, AddrPort: netip.MustParseAddrPort("[::1]:8081")},
		{Name: "sock2", Network: Unix, Path: "/run/app.sock"},
		{Name: "admin", Network: Unix, Path: "@drover-admin"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	addrs := []string{}
	for _, s := range got {
		addrs = append(addrs, s.Addr())
	}
	if strings.Join(addrs, " ") != "127.0.0.1:8080 [::1]:8081 /run/app.sock @drover-admin" {
		t.Errorf("Addr: %v", addrs)
	}
	// IPv4-mapped IPv6 is the IPv4 address.
	if s, err := ParseSocket("TCP://[::ffff:127.0.0.1]:1"); err != nil || s.AddrPort.String() != "127.0.0.1:1" {
		t.Errorf("mapped: %v %v", s, err)
	}
}

func TestParseSocketsErrors(t *testing.T) {
	for _, v := range []string{
		"", " ", "tcp://127.0.0.1:8080,", "127.0.0.1:8080", "tcp://localhost:8080", "tcp://127.0.0.1",
		"tcp://127.0.0.1:99999", "tcp://[fe80::1%eth0]:80", "udp://127.0.0.1:53", "unix://relative.sock",
		"unix://", "unix://@", "unix:///", "unix:///" + strings.Repeat("a", 120),
		"tcp://127.0.0.1:1, tcp://127.0.0.1:1", "a=tcp://127.0.0.1:1, a=tcp://127.0.0.1:2",
		"probe=tcp://127.0.0.1:1", "a:b=tcp://127.0.0.1:1", "=tcp://127.0.0.1:1", "a b=tcp://127.0.0.1:1",
	} {
		specs, err := ParseSockets(v)
		if !errors.Is(err, ErrBadSocket) || specs != nil {
			t.Errorf("ParseSockets(%q) = %v, %v; want ErrBadSocket", v, specs, err)
		}
	}
}

func FuzzParseSockets(f *testing.F) {
	for _, s := range []string{"tcp://127.0.0.1:8080, tcp://[::1]:8081, unix:///run/app.sock", "x=unix://@a", "tcp://:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		specs, err := ParseSockets(v)
		if err != nil {
			if !errors.Is(err, ErrBadSocket) || specs != nil {
				t.Fatalf("error %v with %v", err, specs)
			}
			return
		}
		for _, s := range specs {
			// Every accepted entry parses again to itself.
			again, err := ParseSocket(s.Name + "=" + s.String())
			if err != nil || again != s {
				t.Fatalf("%+v re-parsed as %+v, %v", s, again, err)
			}
		}
	})
}

func TestParseReady(t *testing.T) {
	for in, want := range map[string]Ready{
		"notify":                          {Kind: ReadyNotify},
		" uptime:5s ":                     {Kind: ReadyUptime, Uptime: 5 * time.Second},
		"tcp://127.0.0.1:9000":            {Kind: ReadyTCP, Addr: "127.0.0.1:9000"},
		"tcp://localhost:9000":            {Kind: ReadyTCP, Addr: "localhost:9000"},
		"http://127.0.0.1:8080/healthz":   {Kind: ReadyHTTP},
		"http://{probe}/healthz?full=1":   {Kind: ReadyHTTP, ViaProbe: true},
		"log:worker=\\d+ ready":           {Kind: ReadyLog},
		"http://[::1]:8080/":              {Kind: ReadyHTTP},
		"log:Listening on http://0.0.0.0": {Kind: ReadyLog},
	} {
		r, err := ParseReady(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if r.Kind != want.Kind || r.ViaProbe != want.ViaProbe || r.Addr != want.Addr || r.Uptime != want.Uptime {
			t.Errorf("%q = %+v", in, r)
		}
		if r.String() != strings.TrimSpace(in) {
			t.Errorf("String %q", r.String())
		}
	}
	r, _ := ParseReady("http://{probe}/healthz?full=1")
	if r.URL.Host != "{probe}" || r.URL.Path != "/healthz" || r.URL.RawQuery != "full=1" {
		t.Errorf("probe URL %v", r.URL)
	}
}

func TestParseReadyErrors(t *testing.T) {
	for _, in := range []string{
		"", "ready", "http://", "http://127.0.0.1/x", "http://{probe}:80/", "http://x{probe}/", "https://127.0.0.1:1/",
		"http://u:p@127.0.0.1:1/", "tcp://127.0.0.1", "tcp://{probe}", "log:", "log:(", "uptime:", "uptime:-1s",
		"uptime:2h", "uptime:soon", "notify ", "NOTIFY2",
	} {
		if in == "notify " {
			continue // trimmed: valid
		}
		if r, err := ParseReady(in); !errors.Is(err, ErrBadReady) || r.Kind != "" {
			t.Errorf("ParseReady(%q) = %v, %v", in, r, err)
		}
	}
}

func FuzzParseReady(f *testing.F) {
	for _, s := range []string{"notify", "uptime:1s", "log:a+", "tcp://127.0.0.1:1", "http://{probe}/x", "http://127.0.0.1:1/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReady(s)
		if err != nil {
			if !errors.Is(err, ErrBadReady) || r.Kind != "" {
				t.Fatalf("%v %v", r, err)
			}
			return
		}
		if _, err := r.Validate([]Socket{{Network: TCP}}); err != nil && !errors.Is(err, ErrBadReady) {
			t.Fatal(err)
		}
		if r.Kind == ReadyHTTP && r.URL == nil || r.Kind == ReadyLog && r.Pattern == nil {
			t.Fatalf("incomplete %+v", r)
		}
	})
}

// TestReadyValidate: probes aimed at sockets drover holds are refused
// (tcp: always connects) or warned about (http: the old generation may
// answer); the private probe socket and other ports are fine.
func TestReadyValidate(t *testing.T) {
	owned, _ := ParseSockets("tcp://127.0.0.1:8080, tcp://0.0.0.0:9090, unix:///run/a.sock")
	for in, want := range map[string]string{
		"tcp://127.0.0.1:8080":      "error",
		"tcp://127.0.0.1:9090":      "error", // the wildcard socket covers it
		"http://127.0.0.1:8080/":    "warning",
		"http://{probe}/":           "",
		"tcp://127.0.0.1:7000":      "",
		"http://localhost:8080/":    "", // not compared without resolving
		"notify":                    "",
		"http://[::1]:8080/healthz": "",
	} {
		r, err := ParseReady(in)
		if err != nil {
			t.Fatal(err)
		}
		w, err := r.Validate(owned)
		got := ""
		switch {
		case err != nil && errors.Is(err, ErrBadReady):
			got = "error"
		case len(w) > 0:
			got = "warning"
		}
		if got != want {
			t.Errorf("%s: got %q (%v %v) want %q", in, got, w, err, want)
		}
	}
}
