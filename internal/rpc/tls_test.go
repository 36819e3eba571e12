package rpc

import (
	"crypto/tls"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/testpki"

	"github.com/drover-sh/drover/internal/access"
	"github.com/drover-sh/drover/internal/config"
)

// tlsCall calls method over https with tc.
func tlsCall(t *testing.T, url string, tc *tls.Config, user, pass, method string) (any, error) {
	t.Helper()
	on := user != ""
	c, err := NewClientAuth(url, ClientAuth{Username: user, Password: pass, Calls: on, Streams: on, TLS: tc})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.Call(t.Context(), method)
}

// HTTPS with a password: the right CA and password get in; another CA, an
// expired certificate, a wrong or no password are refused; a renewed
// certificate is served after ReloadTLS without a restart.
func TestTLSListener(t *testing.T) {
	ca, other := testpki.New(t, "drover-test"), testpki.New(t, "someone-else")
	cert, key := ca.Issue("server", true, time.Now().Add(-time.Minute), time.Hour)
	s, _ := newTestServer(t)
	if err := s.Listen([]ListenerConfig{{Section: "inet_http_server", Port: "127.0.0.1:0",
		Credentials: Credentials{Username: "admin", Password: "secret"}, TLS: &TLSFiles{Cert: cert, Key: key}}}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	url := "https://" + s.Addrs()[0].String()
	good := &tls.Config{RootCAs: ca.Pool()}
	if v, err := tlsCall(t, url, good, "admin", "secret", "supervisor.getPID"); err != nil || v != 4242 {
		t.Fatalf("right CA and password: %v %v", v, err)
	}
	for what, c := range map[string]struct {
		tc         *tls.Config
		user, pass string
	}{
		"another CA":     {&tls.Config{RootCAs: other.Pool()}, "admin", "secret"},
		"wrong password": {good, "admin", "guess"},
		"no password":    {good, "", ""},
	} {
		if _, err := tlsCall(t, url, c.tc, c.user, c.pass, "supervisor.getPID"); err == nil {
			t.Errorf("%s: got in", what)
		}
	}
	// Plain HTTP on the TLS port is no way in either.
	if _, err := callURL(t, "http://"+s.Addrs()[0].String(), "admin", "secret", "supervisor.getPID"); err == nil {
		t.Error("plain http got in")
	}
	// An expired certificate is refused by the client; a renewed one,
	// reloaded, is served.
	expired, ekey := ca.Issue("server", true, time.Now().Add(-2*time.Hour), time.Hour)
	copyFile(t, expired, cert)
	copyFile(t, ekey, key)
	if err := s.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	if _, err := tlsCall(t, url, good, "admin", "secret", "supervisor.getPID"); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("an expired certificate: %v", err)
	}
	renewed, rkey := ca.Issue("server", true, time.Now().Add(-time.Minute), time.Hour)
	copyFile(t, renewed, cert)
	copyFile(t, rkey, key)
	if err := s.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	if _, err := tlsCall(t, url, good, "admin", "secret", "supervisor.getPID"); err != nil {
		t.Fatalf("renewed certificate: %v", err)
	}
	// Files that do not load keep the current ones.
	os.WriteFile(cert, []byte("garbage"), 0o600)
	if err := s.ReloadTLS(); err == nil {
		t.Fatal("ReloadTLS accepted a broken certificate")
	}
	if _, err := tlsCall(t, url, good, "admin", "secret", "supervisor.getPID"); err != nil {
		t.Fatalf("after a failed reload: %v", err)
	}
}

// Mutual TLS: a client certificate of the client CA is required, and its
// common name is the user the access rules name.
func TestMutualTLS(t *testing.T) {
	ca := testpki.New(t, "drover-test")
	cert, key := ca.Issue("server", true, time.Now().Add(-time.Minute), time.Hour)
	deployCert, deployKey := ca.Issue("deploy", false, time.Now().Add(-time.Minute), time.Hour)
	s, _ := newTestServer(t)
	s.SetAccess(Access{Policy: access.New(config.Access{Rules: []config.AccessRule{{Users: []string{"deploy"}, Control: []string{"g:*"}}}})})
	if err := s.Listen([]ListenerConfig{{Section: "inet_http_server", Port: "127.0.0.1:0",
		TLS: &TLSFiles{Cert: cert, Key: key, ClientCA: ca.PEM}}}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	url := "https://" + s.Addrs()[0].String()
	if _, err := tlsCall(t, url, &tls.Config{RootCAs: ca.Pool()}, "", "", "supervisor.getState"); err == nil {
		t.Fatal("no client certificate got in")
	}
	pair, err := tls.LoadX509KeyPair(deployCert, deployKey)
	if err != nil {
		t.Fatal(err)
	}
	tc := &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{pair}}
	on := func(method string, args ...any) error {
		c, err := NewClientAuth(url, ClientAuth{TLS: tc})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = c.Call(t.Context(), method, args...)
		return err
	}
	if err := on("supervisor.stopProcess", "g:b"); err != nil {
		t.Fatalf("deploy on g:b: %v", err)
	}
	if err := on("supervisor.stopProcess", "cat"); err == nil || !strings.Contains(err.Error(), "access denied: deploy@") {
		t.Fatalf("deploy on cat: %v", err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
