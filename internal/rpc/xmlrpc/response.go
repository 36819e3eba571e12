package xmlrpc

import (
	"encoding/xml"
	"fmt"
	"io"
)

// Fault is an XML-RPC fault received by a client. It is returned as an
// error by DecodeResponse.
type Fault struct {
	Code   int
	String string
}

func (f *Fault) Error() string { return fmt.Sprintf("fault %d: %s", f.Code, f.String) }

// decodeResponse is the general decoder of one <methodResponse>, built
// on encoding/xml. A fault is returned as a *Fault error; other errors
// wrap ErrMalformed.
func decodeResponse(r io.Reader) (any, error) {
	p := newParser(r)
	root, err := p.root()
	if err != nil {
		return nil, err
	}
	if root.Name.Local != "methodResponse" {
		return nil, p.errf("root element is <%s>, want <methodResponse>", root.Name.Local)
	}
	var result any
	var fault *Fault
	got := false
	for {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			if got {
				return nil, p.errf("extra <%s>", t.Name.Local)
			}
			got = true
			switch t.Name.Local {
			case "params":
				ps, err := p.params()
				if err != nil {
					return nil, err
				}
				if len(ps) != 1 {
					return nil, p.errf("response has %d params, want 1", len(ps))
				}
				result = ps[0]
			case "fault":
				v, err := p.wrappedValue()
				if err != nil {
					return nil, err
				}
				m, ok := v.(map[string]any)
				if !ok {
					return nil, p.errf("fault is not a struct")
				}
				code, ok1 := m["faultCode"].(int)
				str, ok2 := m["faultString"].(string)
				if !ok1 || !ok2 {
					return nil, p.errf("fault lacks faultCode or faultString")
				}
				fault = &Fault{Code: code, String: str}
			default:
				return nil, p.errf("unexpected <%s> in <methodResponse>", t.Name.Local)
			}
		case xml.EndElement:
			if !got {
				return nil, p.errf("empty <methodResponse>")
			}
			if err := p.end(); err != nil {
				return nil, err
			}
			if fault != nil {
				return nil, fault
			}
			return result, nil
		case xml.CharData:
			if !isSpace(t) {
				return nil, p.errf("text in <methodResponse>")
			}
		}
	}
}
