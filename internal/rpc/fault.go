// Package rpc serves supervisord 4.2's control API for drover: the
// XML-RPC method table (supervisor.* and system.*), the /logtail and
// /mainlogtail streams, the unix and inet HTTP listeners with Basic auth,
// and a small client. It never touches process state itself: every
// operation goes through a Backend, which the daemon core implements.
package rpc

import (
	"errors"
	"fmt"
)

// Fault codes, exactly supervisord's xmlrpc.Faults.
const (
	UnknownMethod        = 1
	IncorrectParameters  = 2
	BadArguments         = 3
	SignatureUnsupported = 4
	ShutdownState        = 6
	BadName              = 10
	BadSignal            = 11
	NoFile               = 20
	NotExecutable        = 21
	Failed               = 30
	AbnormalTermination  = 40
	SpawnError           = 50
	AlreadyStarted       = 60
	NotRunning           = 70
	Success              = 80
	AlreadyAdded         = 90
	StillRunning         = 91
	CantReread           = 92
)

var faultNames = map[int]string{
	UnknownMethod:        "UNKNOWN_METHOD",
	IncorrectParameters:  "INCORRECT_PARAMETERS",
	BadArguments:         "BAD_ARGUMENTS",
	SignatureUnsupported: "SIGNATURE_UNSUPPORTED",
	ShutdownState:        "SHUTDOWN_STATE",
	BadName:              "BAD_NAME",
	BadSignal:            "BAD_SIGNAL",
	NoFile:               "NO_FILE",
	NotExecutable:        "NOT_EXECUTABLE",
	Failed:               "FAILED",
	AbnormalTermination:  "ABNORMAL_TERMINATION",
	SpawnError:           "SPAWN_ERROR",
	AlreadyStarted:       "ALREADY_STARTED",
	NotRunning:           "NOT_RUNNING",
	Success:              "SUCCESS",
	AlreadyAdded:         "ALREADY_ADDED",
	StillRunning:         "STILL_RUNNING",
	CantReread:           "CANT_REREAD",
}

// FaultName returns supervisord's name for a fault code, or "UNKNOWN".
func FaultName(code int) string {
	if n, ok := faultNames[code]; ok {
		return n
	}
	return "UNKNOWN"
}

// Coder is what a Backend error implements to choose its fault. The
// supervisor package implements it on its own error types without
// importing this package. FaultDetail is the text after "NAME: " (often
// the process name); an empty detail gives a bare "NAME".
type Coder interface {
	FaultCode() int
	FaultDetail() string
}

// Fault is an XML-RPC fault as supervisord writes it. It implements
// Coder, so Backends may also return it directly.
type Fault struct {
	Code   int
	Detail string
}

// NewFault returns a *Fault with the given code and detail.
func NewFault(code int, detail string) *Fault { return &Fault{Code: code, Detail: detail} }

// FaultCode implements Coder.
func (f *Fault) FaultCode() int { return f.Code }

// FaultDetail implements Coder.
func (f *Fault) FaultDetail() string { return f.Detail }

// String is the faultString: "NAME" or "NAME: detail".
func (f *Fault) String() string {
	if f.Detail == "" {
		return FaultName(f.Code)
	}
	return FaultName(f.Code) + ": " + f.Detail
}

func (f *Fault) Error() string { return fmt.Sprintf("%s (fault %d)", f.String(), f.Code) }

// ToFault is the one mapping from errors to XML-RPC faults: an error
// chain holding a Coder becomes that fault; anything else is FAILED with
// the error text (supervisord would answer HTTP 500 there; a fault keeps
// the client usable and says what happened).
func ToFault(err error) *Fault {
	var c Coder
	if errors.As(err, &c) {
		return &Fault{Code: c.FaultCode(), Detail: c.FaultDetail()}
	}
	return &Fault{Code: Failed, Detail: err.Error()}
}
