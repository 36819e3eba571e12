package supervisor

import "errors"

// Code is a supervisord XML-RPC fault code, defined here once: the RPC
// layer sends it as the faultCode, result structs carry it as status, and
// the client reads it back.
type Code int

// Fault codes exactly as supervisord 4.2 numbers them (xmlrpc.Faults).
const (
	CodeUnknownMethod        Code = 1
	CodeIncorrectParameters  Code = 2
	CodeBadArguments         Code = 3
	CodeSignatureUnsupported Code = 4
	CodeShutdownState        Code = 6
	CodeBadName              Code = 10
	CodeBadSignal            Code = 11
	CodeNoFile               Code = 20
	CodeNotExecutable        Code = 21
	CodeFailed               Code = 30
	CodeAbnormalTermination  Code = 40
	CodeSpawnError           Code = 50
	CodeAlreadyStarted       Code = 60
	CodeNotRunning           Code = 70
	CodeSuccess              Code = 80
	CodeAlreadyAdded         Code = 90
	CodeStillRunning         Code = 91
	CodeCantReread           Code = 92
)

// codeName is supervisord's name for a code ("" if it defines none). A
// switch, not a map, so that nothing is built at package init.
func codeName(c Code) string {
	switch c {
	case CodeUnknownMethod:
		return "UNKNOWN_METHOD"
	case CodeIncorrectParameters:
		return "INCORRECT_PARAMETERS"
	case CodeBadArguments:
		return "BAD_ARGUMENTS"
	case CodeSignatureUnsupported:
		return "SIGNATURE_UNSUPPORTED"
	case CodeShutdownState:
		return "SHUTDOWN_STATE"
	case CodeBadName:
		return "BAD_NAME"
	case CodeBadSignal:
		return "BAD_SIGNAL"
	case CodeNoFile:
		return "NO_FILE"
	case CodeNotExecutable:
		return "NOT_EXECUTABLE"
	case CodeFailed:
		return "FAILED"
	case CodeAbnormalTermination:
		return "ABNORMAL_TERMINATION"
	case CodeSpawnError:
		return "SPAWN_ERROR"
	case CodeAlreadyStarted:
		return "ALREADY_STARTED"
	case CodeNotRunning:
		return "NOT_RUNNING"
	case CodeSuccess:
		return "SUCCESS"
	case CodeAlreadyAdded:
		return "ALREADY_ADDED"
	case CodeStillRunning:
		return "STILL_RUNNING"
	case CodeCantReread:
		return "CANT_REREAD"
	}
	return ""
}

// String returns supervisord's name for the code ("BAD_NAME"), or
// "UNKNOWN" for a code it does not define (its getFaultDescription).
func (c Code) String() string {
	if n := codeName(c); n != "" {
		return n
	}
	return "UNKNOWN"
}

// Fault is an error carrying a supervisord fault code. Every error a request
// method of Supervisor returns is a *Fault (or wraps one), except context
// errors, so the RPC layer maps them with errors.As; its client returns the
// faults it receives as *Fault too.
type Fault struct {
	Code Code
	// Detail is the text after "NAME: " in the fault string ("" for none).
	Detail string
}

// Error returns the fault string as supervisord builds it: "NAME" or
// "NAME: detail".
func (f *Fault) Error() string {
	if f.Detail == "" {
		return f.Code.String()
	}
	return f.Code.String() + ": " + f.Detail
}

// Is reports whether target is a *Fault with the same code, so
// errors.Is(err, ErrBadName) matches a fault with any detail.
func (f *Fault) Is(target error) bool {
	t, ok := target.(*Fault)
	return ok && t.Code == f.Code
}

// NewFault returns a *Fault with the given code and detail.
func NewFault(c Code, detail string) *Fault { return &Fault{Code: c, Detail: detail} }

// detailOf is a fault's detail (its text without the code), else err's text.
func detailOf(err error) string {
	var f *Fault
	if errors.As(err, &f) && f.Detail != "" {
		return f.Detail
	}
	return err.Error()
}

func fault(c Code, detail string) *Fault { return NewFault(c, detail) }

// Sentinels for errors.Is; they match any *Fault with the same code.
var (
	ErrShutdownState       = &Fault{Code: CodeShutdownState}
	ErrBadName             = &Fault{Code: CodeBadName}
	ErrBadSignal           = &Fault{Code: CodeBadSignal}
	ErrNoFile              = &Fault{Code: CodeNoFile}
	ErrNotExecutable       = &Fault{Code: CodeNotExecutable}
	ErrFailed              = &Fault{Code: CodeFailed}
	ErrAbnormalTermination = &Fault{Code: CodeAbnormalTermination}
	ErrSpawnError          = &Fault{Code: CodeSpawnError}
	ErrAlreadyStarted      = &Fault{Code: CodeAlreadyStarted}
	ErrNotRunning          = &Fault{Code: CodeNotRunning}
	ErrAlreadyAdded        = &Fault{Code: CodeAlreadyAdded}
	ErrStillRunning        = &Fault{Code: CodeStillRunning}
)

// Result is one entry of a group or all-processes operation, as in
// supervisord's result structs: Status is CodeSuccess with Description "OK",
// or a fault code with the fault string.
type Result struct {
	Name        string
	Group       string
	Status      Code
	Description string
}

func okResult(p *proc) Result {
	return Result{Name: p.cfg.Name, Group: p.group.name, Status: CodeSuccess, Description: "OK"}
}

func errResult(p *proc, err error) Result {
	r := Result{Name: p.cfg.Name, Group: p.group.name, Status: CodeFailed, Description: err.Error()}
	if f, ok := err.(*Fault); ok {
		r.Status = f.Code
	}
	return r
}
