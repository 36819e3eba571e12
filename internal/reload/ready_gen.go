package reload

import (
	"github.com/drover-sh/drover/internal/config"

	"context"
	"errors"
	"log/slog"
	"net/netip"
)

// PrepareOptions are what Prepare needs from the daemon.
type PrepareOptions struct {
	// Dir holds notify sockets: a private directory of the daemon's,
	// searchable by the program's user. Only ready = notify uses it.
	Dir string
	// Logger receives debug lines (refused sd_notify senders); nil: none.
	Logger *slog.Logger
}

// GenProbe is one generation's readiness check with the resources it
// needs: a private probe socket (http://{probe}), a NOTIFY_SOCKET (notify)
// or a line matcher (log:). Make it before the spawn, pass ProbeSet, Env
// and LogHook to the child, call Started after the spawn returned, Wait,
// and Close when the generation is gone or the check is over.
type GenProbe struct {
	probe    Probe
	probeSet *Set
	notify   *NotifySocket
	log      *LogProbe
}

// Prepare makes one generation's check for r (not the zero Ready).
func Prepare(r config.Ready, o PrepareOptions) (*GenProbe, error) {
	gp := &GenProbe{}
	switch r.Kind {
	case config.ReadyHTTP:
		gp.probe = HTTPProbe{URL: r.URL}
		if r.ViaProbe {
			spec := config.Socket{Name: config.ProbeName, Network: config.TCP, AddrPort: netip.MustParseAddrPort("127.0.0.1:0")}
			set, err := Bind([]config.Socket{spec}, SocketOptions{Backlog: 64})
			if err != nil {
				return nil, err
			}
			gp.probeSet = set
		}
	case config.ReadyTCP:
		gp.probe = TCPProbe{Addr: r.Addr}
	case config.ReadyUptime:
		gp.probe = UptimeProbe{D: r.Uptime}
	case config.ReadyLog:
		gp.log = NewLogProbe(r.Pattern)
		gp.probe = gp.log
	case config.ReadyNotify:
		n, err := ListenNotify(o.Dir, o.Logger)
		if err != nil {
			return nil, err
		}
		gp.notify, gp.probe = n, n
	default:
		return nil, errors.Join(config.ErrBadReady, errors.New("unknown kind "+string(r.Kind)))
	}
	return gp, nil
}

// ProbeSet is the generation's private probe socket (one TCP listener on
// 127.0.0.1 named "probe"), nil unless ready = http://{probe}/...; its
// files go after the program's sockets (Assemble does this).
func (p *GenProbe) ProbeSet() *Set { return p.probeSet }

// ProbeAddr is the probe socket's address, "" without one.
func (p *GenProbe) ProbeAddr() string {
	if p.probeSet == nil {
		return ""
	}
	return p.probeSet.Addrs()[0]
}

// Env is what the generation's environment needs: NOTIFY_SOCKET for
// notify, DROVER_PROBE_ADDR for a probe socket (a unicorn config can
// listen ENV["DROVER_PROBE_ADDR"] to match the inherited socket).
func (p *GenProbe) Env() []string {
	var env []string
	if p.notify != nil {
		env = append(env, p.notify.Env())
	}
	if a := p.ProbeAddr(); a != "" {
		env = append(env, "DROVER_PROBE_ADDR="+a)
	}
	return env
}

// LogHook returns a new logfile.Sink.OnLog hook for one captured stream
// of the generation (call once per stream), nil unless ready = log:.
func (p *GenProbe) LogHook() func([]byte) {
	if p.log == nil {
		return nil
	}
	return p.log.Hook()
}

// Notify is the generation's notify socket, nil unless ready = notify; its
// State carries STATUS= and MAINPID= for the daemon's log.
func (p *GenProbe) Notify() *NotifySocket { return p.notify }

// Started closes the daemon's copy of the probe socket once the child has
// its own, so the probe gets "connection refused" as soon as the
// generation is gone instead of waiting in a backlog nobody serves.
func (p *GenProbe) Started() {
	if p.probeSet != nil {
		_ = p.probeSet.Close()
	}
}

// Wait implements Probe, with g.ProbeAddr filled in from the probe socket.
func (p *GenProbe) Wait(ctx context.Context, g Gen) error {
	if g.ProbeAddr == "" {
		g.ProbeAddr = p.ProbeAddr()
	}
	return p.probe.Wait(ctx, g)
}

// Close releases the check's resources; it is idempotent.
func (p *GenProbe) Close() error {
	var errs []error
	if p.probeSet != nil {
		errs = append(errs, p.probeSet.Close())
	}
	if p.notify != nil {
		errs = append(errs, p.notify.Close())
	}
	return errors.Join(errs...)
}
