package xmlrpc

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// FuzzDecodeRequest checks that any input either decodes or fails with
// ErrMalformed (never a panic), and that whatever decodes re-encodes to a
// request that decodes to the same values.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		"<methodCall><methodName>supervisor.getPID</methodName></methodCall>",
		call(param("<int>1</int>") + param("x") + param("<boolean>1</boolean>")),
		call(param("<array><data><value><struct><member><name>methodName</name><value>a.b</value></member></struct></value></data></array>")),
		call(param("<base64>aGk=</base64>") + param("<double>-1.5e3</double>") + param("<dateTime.iso8601>20260102T15:04:05</dateTime.iso8601>")),
		"<?xml version='1.0' encoding='iso-8859-1'?><methodCall><methodName>a</methodName></methodCall>",
		"<!DOCTYPE a><methodCall/>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := DecodeRequest(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if req.Method == "" || req.Params == nil {
			t.Fatalf("bad request %#v", req)
		}
		var buf bytes.Buffer
		if err := encodeRequest(&buf, req.Method, req.Params...); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := DecodeRequest(&buf)
		if err != nil {
			t.Fatalf("re-decode: %v\n%s", err, buf.Bytes())
		}
		if sanitize(req.Method) == req.Method && sanitizedEqual(req.Params) && !reflect.DeepEqual(again.Params, req.Params) {
			t.Fatalf("round trip changed params: %#v -> %#v", req.Params, again.Params)
		}
	})
}

// sanitizedEqual reports whether all strings in v are unchanged by
// Sanitize (so a round trip must be exact).
func sanitizedEqual(v any) bool {
	switch v := v.(type) {
	case string:
		return sanitize(v) == v
	case []any:
		for _, e := range v {
			if !sanitizedEqual(e) {
				return false
			}
		}
	case map[string]any:
		for k, e := range v {
			if sanitize(k) != k || !sanitizedEqual(e) {
				return false
			}
		}
	}
	return true
}

// FuzzEncodeString checks that any string, whatever its bytes, encodes to
// XML that decodes to exactly sanitize(s).
func FuzzEncodeString(f *testing.F) {
	for _, s := range []string{"", "plain", hostile, "\xff\xfe", "a\rb", "]]>", "\x00\x1f\x7f", "é\uFFFF"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var buf bytes.Buffer
		if err := encodeResponse(&buf, []any{s, map[string]any{s: s}}); err != nil {
			t.Fatal(err)
		}
		v, err := decodeResponseFrom(&buf)
		if err != nil {
			t.Fatalf("our XML does not parse: %v\n%q", err, buf.String())
		}
		want := sanitize(s)
		arr := v.([]any)
		if arr[0] != want {
			t.Fatalf("decoded %q, want %q", arr[0], want)
		}
		if m := arr[1].(map[string]any); m[want] != want {
			t.Fatalf("struct member %q", m)
		}
	})
}
