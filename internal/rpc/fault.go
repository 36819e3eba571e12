// Package rpc serves supervisord 4.2's control API for drover: the
// XML-RPC method table (supervisor.* and system.*), the /logtail and
// /mainlogtail streams, the unix and inet HTTP listeners with Basic auth,
// and a small client. It never touches process state itself: every
// operation goes through a Backend, which the daemon core implements. The
// vocabulary (process and daemon states, fault codes, results) is the
// supervisor package's.
package rpc

import (
	"errors"

	"github.com/drover-sh/drover/internal/supervisor"
)

// ToFault is the one mapping from errors to XML-RPC faults: an error
// chain holding a *supervisor.Fault becomes that fault; anything else is
// FAILED with the error text (supervisord would answer HTTP 500 there; a
// fault keeps the client usable and says what happened).
func ToFault(err error) *supervisor.Fault {
	var f *supervisor.Fault
	if errors.As(err, &f) {
		return f
	}
	return supervisor.NewFault(supervisor.CodeFailed, err.Error())
}
