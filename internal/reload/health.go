package reload

import (
	"context"
	"fmt"
	"net"

	"github.com/drover-sh/drover/internal/config"
)

// Check runs one try of an http or tcp probe, as a health check does:
// nil when it answered (2xx, or a connection), else why not. probeAddr is
// the generation's probe socket, for http://{probe}/… URLs. Nothing is
// retried: the caller counts failures.
func Check(ctx context.Context, r config.Ready, probeAddr string) error {
	switch r.Kind {
	case config.ReadyHTTP:
		u := *r.URL
		if u.Host == config.ReadyProbeHost {
			if probeAddr == "" {
				return ErrNoProbeSocket
			}
			u.Host = probeAddr
		}
		if err := httpGet(ctx, u.Host, u.RequestURI()); err != nil {
			return fmt.Errorf("GET %s: %w", u.String(), err)
		}
		return nil
	case config.ReadyTCP:
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", r.Addr)
		if err != nil {
			return err
		}
		return conn.Close()
	}
	return fmt.Errorf("%w: %q cannot be a health check", config.ErrBadReady, r.String())
}
