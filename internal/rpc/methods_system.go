package rpc

import (
	"github.com/drover-sh/drover/internal/supervisor"

	"context"

	"github.com/drover-sh/drover/internal/rpc/xmlrpc"
)

func listMethods(_ context.Context, d *dispatcher, _ args) (any, error) {
	return d.names(), nil
}

func methodHelp(_ context.Context, d *dispatcher, a args) (any, error) {
	name, err := a.str(0)
	if err != nil {
		return nil, err
	}
	m, ok := d.methods[name]
	if !ok {
		return nil, supervisor.NewFault(supervisor.CodeSignatureUnsupported, "")
	}
	return m.helpText(), nil
}

func methodSignature(_ context.Context, d *dispatcher, a args) (any, error) {
	name, err := a.str(0)
	if err != nil {
		return nil, err
	}
	m, ok := d.methods[name]
	if !ok {
		return nil, supervisor.NewFault(supervisor.CodeSignatureUnsupported, "")
	}
	return m.signature(), nil
}

// multicall runs calls one after another (each finishes, waits included,
// before the next starts). Like supervisord 4.2 — and unlike the
// XML-RPC multicall convention — a successful result is appended bare,
// not wrapped in a one-element array; a failure is a fault struct.
func multicall(ctx context.Context, d *dispatcher, a args) (any, error) {
	calls, ok := a[0].([]any)
	if !ok {
		if _, isStr := a[0].(string); isStr {
			return nil, badParam(a[0])
		}
		// Iterating an int or a struct raises TypeError in supervisord:
		// a bare INCORRECT_PARAMETERS.
		return nil, supervisor.NewFault(supervisor.CodeIncorrectParameters, "")
	}
	out := make([]any, 0, len(calls))
	for _, c := range calls {
		v, err := oneCall(ctx, d, c)
		if err != nil {
			f := ToFault(err)
			v = xmlrpc.Struct{{Name: "faultCode", Value: int(f.Code)}, {Name: "faultString", Value: f.Error()}}
		}
		out = append(out, v)
	}
	return out, nil
}

func oneCall(ctx context.Context, d *dispatcher, c any) (any, error) {
	call, ok := c.(map[string]any)
	if !ok {
		return nil, supervisor.NewFault(supervisor.CodeIncorrectParameters, "call is not a struct")
	}
	name, ok := call["methodName"].(string)
	if !ok {
		return nil, supervisor.NewFault(supervisor.CodeIncorrectParameters, "No methodName")
	}
	if name == "system.multicall" {
		return nil, supervisor.NewFault(supervisor.CodeIncorrectParameters, "Recursive system.multicall forbidden")
	}
	params := []any{}
	if p, ok := call["params"]; ok {
		if params, ok = p.([]any); !ok {
			return nil, supervisor.NewFault(supervisor.CodeIncorrectParameters, "params is not an array")
		}
	}
	return d.call(ctx, name, params)
}
