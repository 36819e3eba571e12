package rpc

import (
	"context"
	"net"

	"github.com/drover-sh/drover/internal/access"
	"github.com/drover-sh/drover/internal/supervisor"
)

// grant is what one request may do, decided once by the HTTP handler from
// the listener and the caller, and carried in the context so that the
// calls inside a multicall are checked alike.
type grant struct {
	readOnly bool // an inet listener without credentials off loopback
	rights   access.Rights
	caller   access.Caller
	policy   *access.Policy // names the caller (nil: no rules)
}

// who names the caller, for the audit log and refusals: only those need
// it, so a read does not look the caller's account up.
func (g grant) who() string { return g.policy.Name(g.caller) }

type grantKey struct{}

func withGrant(ctx context.Context, g grant) context.Context {
	return context.WithValue(ctx, grantKey{}, g)
}

// grantFrom is ctx's grant; without one (Server.Call, in-process) every
// right.
func grantFrom(ctx context.Context) grant {
	if g, ok := ctx.Value(grantKey{}).(grant); ok {
		return g
	}
	return grant{rights: access.All}
}

// target is what a method acts on, for the access check.
type target int

const (
	onDaemon  target = iota // the daemon: reads need any right, others "*"
	onProcess               // params[0], a process namespec (group forms: the group)
	onGroup                 // params[0], a group name
	onAll                   // every process: needs "*"
	onList                  // lists every process: filtered to what may be read
)

// allow checks a call of method m with params against g.
func (g grant) allow(method string, m *method, params []any) error {
	r := g.rights
	ok := false
	spec, _ := firstString(params)
	switch m.target {
	case onDaemon:
		ok = r.Any() && (m.class == access.Read || r.Everything(m.class))
	case onList:
		ok = r.Any()
	case onAll:
		ok = r.Everything(m.class)
	case onGroup:
		ok = r.Group(m.class, spec)
	case onProcess:
		group, name, isGroup := supervisor.ParseName(spec)
		if isGroup {
			ok = r.Group(m.class, group)
		} else {
			ok = r.Process(m.class, group, name)
		}
	}
	if ok {
		return nil
	}
	if !r.Any() {
		return supervisor.NewFault(supervisor.CodeFailed, "access denied: "+g.who()+": no [access:x] rule names it")
	}
	verb := m.class.String()
	if m.class == access.Admin {
		verb = "administer"
	}
	why := "access denied: " + g.who() + " may not " + verb + " "
	if m.target == onProcess || m.target == onGroup {
		return supervisor.NewFault(supervisor.CodeFailed, why+spec+" ("+method+")")
	}
	return supervisor.NewFault(supervisor.CodeFailed, why+"all programs ("+method+" needs "+m.class.String()+" = *)")
}

// visibleInfos keeps the processes ctx's caller may read (the onList
// methods), in place.
func visibleInfos(ctx context.Context, all []ProcessInfo) []ProcessInfo {
	return visible(ctx, all, func(pi ProcessInfo) (string, string) { return pi.Group, pi.Name })
}

// visibleConfigs is visibleInfos for getAllConfigInfo.
func visibleConfigs(ctx context.Context, all []ConfigInfo) []ConfigInfo {
	return visible(ctx, all, func(c ConfigInfo) (string, string) { return c.Group, c.Name })
}

// visible keeps, in place, the entries of all whose process (named by
// key) ctx's caller may read.
func visible[T any](ctx context.Context, all []T, key func(T) (group, name string)) []T {
	r := grantFrom(ctx).rights
	if r.IsAll() {
		return all
	}
	out := all[:0]
	for _, e := range all {
		if group, name := key(e); r.Process(access.Read, group, name) {
			out = append(out, e)
		}
	}
	return out
}

func firstString(params []any) (string, bool) {
	if len(params) == 0 {
		return "", false
	}
	s, ok := params[0].(string)
	return s, ok
}

type peerKey struct{}

// connContext puts a unix connection's peer credentials in its requests'
// context.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if p, ok := peerOf(c); ok {
		return context.WithValue(ctx, peerKey{}, p)
	}
	return ctx
}

func peerFrom(ctx context.Context) (Peer, bool) {
	p, ok := ctx.Value(peerKey{}).(Peer)
	return p, ok
}
