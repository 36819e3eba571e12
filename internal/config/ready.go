package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// ErrBadReady is wrapped by ParseReady and Ready.Validate.
var ErrBadReady = errors.New("invalid ready=")

// ReadyKind is the kind of a ready= value.
type ReadyKind string

// The ready= kinds.
const (
	ReadyHTTP   ReadyKind = "http"
	ReadyTCP    ReadyKind = "tcp"
	ReadyNotify ReadyKind = "notify"
	ReadyLog    ReadyKind = "log"
	ReadyUptime ReadyKind = "uptime"
)

// ReadyProbeHost is the placeholder host of ready = http://{probe}/path: the
// generation's private probe socket.
const ReadyProbeHost = "{probe}"

// Ready is a parsed ready= value; the zero value (Kind "") is none. It
// holds no resources: reload.Prepare makes what one generation needs.
//
// What each kind proves, and its limits:
//   - http://{probe}/path: a GET on the generation's own private probe
//     socket (a TCP listener on 127.0.0.1 passed to that generation only,
//     as the last LISTEN_FDS entry named "probe", also announced as
//     DROVER_PROBE_ADDR and in SERVER_STARTER_PORT) answered 2xx. This is
//     the one HTTP probe that tells generations apart; it needs a server
//     that serves every inherited socket (puma --bind-to-activated-sockets,
//     gunicorn with LISTEN_FDS, unicorn without listen lines or with
//     listen ENV["DROVER_PROBE_ADDR"], starman via SERVER_STARTER_PORT).
//   - http://IP:PORT/path: a GET answered 2xx, a new connection per try.
//     On a socket drover owns, during a blue/green hand-off the OLD
//     generation may answer (both accept from the same queue), so it is
//     only a readiness proof at first start; Validate warns.
//   - tcp://IP:PORT: a connect succeeds. Only meaningful for a port the
//     server binds itself: a socket drover owns accepts connections into
//     its backlog whether or not anyone serves it (Validate refuses it).
//   - notify: the generation sent READY=1 on its own NOTIFY_SOCKET from
//     its process tree (sd_notify). As good as the server's own notion of
//     ready: puma's is trustworthy, gunicorn's comes before the app loads.
//   - log:REGEX: a line of the generation's stdout/stderr matched. As good
//     as the line chosen; the pattern is matched per line (up to 64 KiB).
//   - uptime:D: the main process stayed alive for D. A last resort: it
//     proves no crash at start, not that anything serves.
type Ready struct {
	Kind ReadyKind
	// URL is the http target; its host is "{probe}" when ViaProbe.
	URL *url.URL
	// ViaProbe: http through the generation's private probe socket.
	ViaProbe bool
	// Addr is the tcp target, "host:port".
	Addr string
	// Pattern is the log regexp.
	Pattern *regexp.Regexp
	// Uptime is the uptime duration.
	Uptime time.Duration

	raw string
}

// String is the value as written.
func (r Ready) String() string { return r.raw }

// ParseReady parses a ready= value: "http://HOST:PORT/path",
// "http://{probe}/path", "tcp://HOST:PORT", "notify", "log:REGEX" or
// "uptime:DURATION" (Go syntax, e.g. 5s). Errors wrap ErrBadReady.
func ParseReady(s string) (Ready, error) {
	s = strings.TrimSpace(s)
	r := Ready{raw: s}
	bad := func(format string, a ...any) (Ready, error) {
		return Ready{}, fmt.Errorf("%w %q: %s", ErrBadReady, s, fmt.Sprintf(format, a...))
	}
	switch {
	case s == "":
		return bad("empty")
	case s == "notify":
		r.Kind = ReadyNotify
	case strings.HasPrefix(s, "log:"):
		r.Kind = ReadyLog
		if len(s) == len("log:") {
			return bad("empty pattern")
		}
		re, err := regexp.Compile(s[len("log:"):])
		if err != nil {
			return bad("%v", err)
		}
		r.Pattern = re
	case strings.HasPrefix(s, "uptime:"):
		r.Kind = ReadyUptime
		d, err := time.ParseDuration(s[len("uptime:"):])
		if err != nil || d <= 0 || d > time.Hour {
			return bad("need a duration from 1ms to 1h, e.g. uptime:5s")
		}
		r.Uptime = d
	case strings.HasPrefix(s, "tcp://"):
		r.Kind = ReadyTCP
		r.Addr = s[len("tcp://"):]
		if strings.Contains(r.Addr, ReadyProbeHost) {
			return bad("tcp://{probe} always connects (drover binds the probe socket): use http://{probe}/path")
		}
		if _, port, err := net.SplitHostPort(r.Addr); err != nil || port == "" {
			return bad("need tcp://HOST:PORT")
		}
	case strings.HasPrefix(s, "http://"):
		r.Kind = ReadyHTTP
		const placeholder = "drover-probe.invalid"
		text := s
		if strings.Contains(s, ReadyProbeHost) {
			text = strings.Replace(s, ReadyProbeHost, placeholder, 1)
			r.ViaProbe = true
		}
		u, err := url.Parse(text)
		switch {
		case err != nil:
			return bad("%v", err)
		case u.User != nil || u.Fragment != "":
			return bad("no user info or fragment")
		case r.ViaProbe && u.Host != placeholder:
			return bad("{probe} stands for the whole host:port, as in http://{probe}/healthz")
		case !r.ViaProbe:
			if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" {
				return bad("need http://HOST:PORT/path or http://{probe}/path")
			}
		}
		if r.ViaProbe {
			u.Host = ReadyProbeHost
		}
		r.URL = u
	default:
		return bad("use http://HOST:PORT/path, http://{probe}/path, tcp://HOST:PORT, notify, log:REGEX or uptime:5s")
	}
	return r, nil
}

// Validate checks r against the program's sockets. A tcp probe of a socket
// drover owns is an error (it always connects); an http probe of one is a
// warning (during a hand-off the old generation may answer).
func (r Ready) Validate(owned []Socket) (warnings []string, err error) {
	var target string
	switch {
	case r.Kind == ReadyTCP:
		target = r.Addr
	case r.Kind == ReadyHTTP && !r.ViaProbe:
		target = r.URL.Host
	default:
		return nil, nil
	}
	ap, perr := netip.ParseAddrPort(target)
	if perr != nil {
		return nil, nil // a host name: cannot compare without resolving
	}
	for _, s := range owned {
		if s.Network != TCP || s.AddrPort.Port() != ap.Port() {
			continue
		}
		if o := s.AddrPort.Addr(); o == ap.Addr().Unmap() || o.IsUnspecified() {
			if r.Kind == ReadyTCP {
				return nil, fmt.Errorf("%w %q: drover holds %s, so a connect always succeeds; use http://{probe}/path or notify", ErrBadReady, r.raw, s)
			}
			return []string{fmt.Sprintf("ready = %s probes a socket every generation shares: during a reload the old generation may answer; http://{probe}/path tells them apart", r.raw)}, nil
		}
	}
	return nil, nil
}
