package rpc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
)

// TLSFiles are a listener's drover-only tls_cert, tls_key and
// tls_client_ca options: the certificate and key it serves, and the CA
// that client certificates must chain to (mutual TLS; "" for none).
type TLSFiles struct {
	Cert, Key, ClientCA string
}

// tlsState is what a TLS listener serves now; Reload replaces it, and
// connections take the one current at their handshake.
type tlsState struct {
	cert     *tls.Certificate
	clientCA *x509.CertPool
}

// tlsListener serves files; its state is re-read on reload (HUP), so a
// renewed certificate needs no restart.
type tlsListener struct {
	files TLSFiles
	state atomic.Pointer[tlsState]
}

// loadTLSState reads files: the key pair, and the client CA bundle.
func loadTLSState(f TLSFiles) (*tlsState, error) {
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, fmt.Errorf("tls_cert %s / tls_key %s: %w", f.Cert, f.Key, err)
	}
	st := &tlsState{cert: &cert}
	if f.ClientCA != "" {
		if st.clientCA, err = LoadCertPool(f.ClientCA); err != nil {
			return nil, fmt.Errorf("tls_client_ca: %w", err)
		}
	}
	return st, nil
}

// LoadCertPool reads a PEM bundle of CA certificates (a listener's
// tls_client_ca, a client's --cacert).
func LoadCertPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate in it", path)
	}
	return pool, nil
}

func newTLSListener(f TLSFiles) (*tlsListener, error) {
	st, err := loadTLSState(f)
	if err != nil {
		return nil, err
	}
	l := &tlsListener{files: f}
	l.state.Store(st)
	return l, nil
}

// reload re-reads the files; on error the current ones stay.
func (l *tlsListener) reload() error {
	st, err := loadTLSState(l.files)
	if err != nil {
		return err
	}
	l.state.Store(st)
	return nil
}

// config is the listener's tls.Config: TLS 1.2 at least (Go's modern
// suites), the current certificate, and with a client CA a verified
// client certificate required.
func (l *tlsListener) config() *tls.Config {
	base := &tls.Config{MinVersion: tls.VersionTLS12}
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		st := l.state.Load()
		c := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{*st.cert}}
		if st.clientCA != nil {
			c.ClientCAs, c.ClientAuth = st.clientCA, tls.RequireAndVerifyClientCert
		}
		return c, nil
	}
	return base
}

type tlsConnKey struct{}

// tlsUser is the name a verified client certificate gives its holder:
// its subject's common name ("" without one).
func tlsUser(ctx context.Context) string {
	c, ok := ctx.Value(tlsConnKey{}).(*tls.Conn)
	if !ok {
		return ""
	}
	st := c.ConnectionState()
	if len(st.VerifiedChains) == 0 || len(st.PeerCertificates) == 0 {
		return ""
	}
	return st.PeerCertificates[0].Subject.CommonName
}

// ReloadTLS re-reads every TLS listener's certificate, key and client CA
// (the daemon calls it on HUP); a listener whose files do not load keeps
// serving the ones it has.
func (s *Server) ReloadTLS() error {
	s.mu.Lock()
	ls := append([]*listener(nil), s.listeners...)
	s.mu.Unlock()
	var errs []error
	for _, l := range ls {
		if l.tls != nil {
			if err := l.tls.reload(); err != nil {
				errs = append(errs, fmt.Errorf("[%s]: %w", l.cfg.Section, err))
			}
		}
	}
	return errors.Join(errs...)
}

// withTLSConn puts a TLS connection in its requests' context.
func withTLSConn(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*tls.Conn); ok {
		return context.WithValue(ctx, tlsConnKey{}, tc)
	}
	return ctx
}
