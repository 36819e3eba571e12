package xmlrpc

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/testenv"
)

func call(params string) string {
	return "<?xml version='1.0'?><methodCall><methodName>m.x</methodName><params>" + params + "</params></methodCall>"
}

func param(v string) string { return "<param><value>" + v + "</value></param>" }

func TestDecodeRequestTypes(t *testing.T) {
	tm := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		in   string
		want any
	}{
		{"int", "<int>42</int>", 42},
		{"i4", "<i4> -7 </i4>", -7},
		{"plus", "<int>+5</int>", 5},
		{"true", "<boolean>1</boolean>", true},
		{"false", "<boolean>0</boolean>", false},
		{"string", "<string>a &amp; b</string>", "a & b"},
		{"empty string", "<string></string>", ""},
		{"string keeps space", "<string>  x </string>", "  x "},
		{"untyped", "hello world", "hello world"},
		{"untyped empty", "", ""},
		{"cdata", "<string><![CDATA[<x>]]></string>", "<x>"},
		{"double", "<double>1.5</double>", 1.5},
		{"datetime", "<dateTime.iso8601>20260102T15:04:05</dateTime.iso8601>", tm},
		{"base64", "<base64>aGk=\n</base64>", []byte("hi")},
		{"array", "<array><data><value><int>1</int></value><value>s</value></data></array>", []any{1, "s"}},
		{"empty array", "<array><data></data></array>", []any{}},
		{"struct", "<struct><member><name>a</name><value><int>1</int></value></member>" +
			"<member><name>b</name><value><array><data/></array></value></member></struct>",
			map[string]any{"a": 1, "b": []any{}}},
		{"space around typed", "\n  <int>3</int>\n ", 3},
		{"unicode", "<string>héllo ☃</string>", "héllo ☃"},
		{"char ref", "<string>&#233;</string>", "é"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := DecodeRequest(strings.NewReader(call(param(tc.in))))
			if err != nil {
				t.Fatal(err)
			}
			if req.Method != "m.x" || len(req.Params) != 1 {
				t.Fatalf("got %+v", req)
			}
			if !reflect.DeepEqual(req.Params[0], tc.want) {
				t.Fatalf("got %#v, want %#v", req.Params[0], tc.want)
			}
		})
	}
}

func TestDecodeRequestShapes(t *testing.T) {
	for _, in := range []string{
		"<methodCall><methodName>a.b</methodName></methodCall>",
		"<methodCall><methodName>a.b</methodName><params/></methodCall>",
		"<!-- c --><?pi x?>\n<methodCall>\n<methodName> a.b </methodName>\n</methodCall>\n<!-- after -->\n",
		"<?xml version='1.0' encoding='iso-8859-1'?><methodCall><methodName>a.b</methodName></methodCall>",
	} {
		req, err := DecodeRequest(strings.NewReader(in))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if req.Method != "a.b" || req.Params == nil || len(req.Params) != 0 {
			t.Fatalf("%q: got %+v", in, req)
		}
	}
	in := "<?xml version='1.0' encoding='iso-8859-1'?><methodCall><methodName>a.b</methodName><params>" +
		param("caf\xe9") + "</params></methodCall>"
	req, err := DecodeRequest(strings.NewReader(in))
	if err != nil || req.Params[0] != "café" {
		t.Fatalf("latin1: %v %#v", err, req)
	}
}

func TestDecodeRequestMalformed(t *testing.T) {
	deep := strings.Repeat("<value><array><data>", 100) + strings.Repeat("</data></array></value>", 100)
	for name, in := range map[string]string{
		"empty":            "",
		"not xml":          "hello",
		"truncated":        "<methodCall><methodName>supervisor.getPID",
		"no method":        "<methodCall><params/></methodCall>",
		"empty method":     "<methodCall><methodName></methodName></methodCall>",
		"wrong root":       "<methodResponse><methodName>a</methodName></methodResponse>",
		"two names":        "<methodCall><methodName>a</methodName><methodName>b</methodName></methodCall>",
		"bad int":          call(param("<int>x</int>")),
		"big int":          call(param("<int>99999999999999999999999</int>")),
		"bad bool":         call(param("<boolean>true</boolean>")),
		"bad double":       call(param("<double>x</double>")),
		"bad date":         call(param("<dateTime.iso8601>2026</dateTime.iso8601>")),
		"bad base64":       call(param("<base64>!!!</base64>")),
		"nil":              call(param("<nil/>")),
		"unknown type":     call(param("<foo>1</foo>")),
		"mixed":            call(param("x<int>1</int>")),
		"two typed":        call(param("<int>1</int><int>2</int>")),
		"param no value":   call("<param></param>"),
		"param two values": call("<param><value>a</value><value>b</value></param>"),
		"array no data":    call(param("<array></array>")),
		"member no value":  call(param("<struct><member><name>a</name></member></struct>")),
		"nested in scalar": call(param("<int><i4>1</i4></int>")),
		"doctype":          "<!DOCTYPE x [<!ENTITY a 'b'>]><methodCall><methodName>a.b</methodName></methodCall>",
		"entity":           call(param("&a;")),
		"control char":     call(param("a\x01b")),
		"nul ref":          call(param("a&#0;b")),
		"bad utf8":         call(param("a\xffb")),
		"two roots":        "<methodCall><methodName>a</methodName></methodCall><methodCall/>",
		"trailing text":    "<methodCall><methodName>a</methodName></methodCall>x",
		"namespace":        "<x:methodCall xmlns:x='u'><methodName>a</methodName></x:methodCall>",
		"utf16":            "<?xml version='1.0' encoding='utf-16'?><methodCall/>",
		"too deep":         call("<param>" + deep + "</param>"),
		"text in params":   call("junk"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeRequest(strings.NewReader(in))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	tm := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	values := []any{
		0, 1, -1, MaxInt, MinInt, true, false, "", "a<b>&c", "line\r\nnext\ttab", "héllo ☃",
		1.25, tm, []byte{0, 1, 255}, []any{}, []any{1, "x", []any{true}},
		map[string]any{"k": 1, "": "empty", "nested": map[string]any{"a": []any{}}},
	}
	for _, v := range values {
		var buf bytes.Buffer
		if err := encodeResponse(&buf, v); err != nil {
			t.Fatal(err)
		}
		got, err := decodeResponseFrom(&buf)
		if err != nil {
			t.Fatalf("%#v: %v", v, err)
		}
		if !reflect.DeepEqual(got, v) {
			t.Fatalf("got %#v, want %#v", got, v)
		}
		buf.Reset()
		if err := encodeRequest(&buf, "a.b", v, "second"); err != nil {
			t.Fatal(err)
		}
		req, err := DecodeRequest(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(req.Params, []any{v, "second"}) {
			t.Fatalf("request got %#v", req.Params)
		}
	}
}

func TestEncodeConversions(t *testing.T) {
	for _, tc := range []struct {
		in, want any
	}{
		{int64(1) << 40, MaxInt},
		{-(int64(1) << 40), MinInt},
		{int32(5), 5},
		{uint32(7), 7},
		{[]string{"a"}, []any{"a"}},
		{[]int{1, 2}, []any{1, 2}},
		{Struct{{"b", 1}, {"a", "x"}}, map[string]any{"a": "x", "b": 1}},
		{[]Struct{{{"a", 1}}}, []any{map[string]any{"a": 1}}},
	} {
		var buf bytes.Buffer
		if err := encodeResponse(&buf, tc.in); err != nil {
			t.Fatal(err)
		}
		got, err := decodeResponseFrom(&buf)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Fatalf("%#v: got %#v, %v", tc.in, got, err)
		}
	}
	for _, bad := range []any{nil, struct{}{}, map[int]int{}, []any{nil}} {
		if err := encodeResponse(&bytes.Buffer{}, bad); err == nil {
			t.Fatalf("%#v encoded without error", bad)
		}
	}
}

func TestStructOrder(t *testing.T) {
	var buf bytes.Buffer
	if err := encodeResponse(&buf, Struct{{"z", 1}, {"a", 2}}); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	if strings.Index(s, "<name>z</name>") > strings.Index(s, "<name>a</name>") {
		t.Fatalf("order not kept: %s", s)
	}
	if v, ok := (Struct{{"z", 1}}).Get("z"); !ok || v != 1 {
		t.Fatal("Get")
	}
}

func TestFault(t *testing.T) {
	var buf bytes.Buffer
	if err := encodeFault(&buf, 10, "BAD_NAME: x\x1b"); err != nil {
		t.Fatal(err)
	}
	_, err := decodeResponseFrom(&buf)
	var f *Fault
	if !errors.As(err, &f) || f.Code != 10 || f.String != "BAD_NAME: x␛" {
		t.Fatalf("got %v", err)
	}
	if f.Error() == "" {
		t.Fatal("empty error")
	}
}

func TestDecodeResponseMalformed(t *testing.T) {
	for _, in := range []string{
		"", "<methodCall/>", "<methodResponse></methodResponse>",
		"<methodResponse><params></params></methodResponse>",
		"<methodResponse><fault><value><int>1</int></value></fault></methodResponse>",
		"<methodResponse><fault><value><struct></struct></value></fault></methodResponse>",
		"<methodResponse><params><param><value>1</value></param></params><params/></methodResponse>",
	} {
		if _, err := decodeResponseFrom(strings.NewReader(in)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%q: err = %v", in, err)
		}
	}
}

// hostile holds every byte value, invalid UTF-8, controls and the two
// non-characters; sanitized it must survive any XML parser.
var hostile = "ok\x00\x01\x07\x08\x0b\x0c\x1b[31mred\x1b[0m\x7f\xff\xfe\xc3(" +
	"\xed\xa0\x80\uFFFE\uFFFF\r\n\ttab é ☃ <&>]]>"

func TestSanitize(t *testing.T) {
	want := "ok␀␁␇␈␋␌␛[31mred␛[0m\x7f\uFFFD\uFFFD\uFFFD(" +
		"\uFFFD\uFFFD\uFFFD\uFFFD\uFFFD\r\n\ttab é ☃ <&>]]>"
	if got := sanitize(hostile); got != want {
		t.Fatalf("Sanitize = %q, want %q", got, want)
	}
	if s := "plain"; sanitize(s) != s {
		t.Fatal("changed plain text")
	}
	var buf bytes.Buffer
	if err := encodeResponse(&buf, hostile); err != nil {
		t.Fatal(err)
	}
	got, err := decodeResponseFrom(&buf)
	if err != nil {
		t.Fatalf("Go decoder rejected our output: %v", err)
	}
	if got != want {
		t.Fatalf("round trip = %q, want %q", got, want)
	}
}

// TestPythonParsesHostile proves Python's xmlrpc.client (what supervisorctl
// uses) accepts the XML we write for hostile bytes, which supervisord
// itself cannot do (#85, #1485).
func TestPythonParsesHostile(t *testing.T) {
	py := testenv.LookPath(t, "python3", "apt-get install python3")
	var buf bytes.Buffer
	if err := encodeResponse(&buf, []any{hostile, map[string]any{"k\x1b": hostile}}); err != nil {
		t.Fatal(err)
	}
	f := t.TempDir() + "/resp.xml"
	if err := os.WriteFile(f, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	script := `import sys, xmlrpc.client
data = open(sys.argv[1], 'rb').read()
(v,), _ = xmlrpc.client.loads(data)
sys.stdout.buffer.write(v[0].encode('utf-8'))`
	out, err := exec.Command(py, "-c", script, f).Output()
	if err != nil {
		t.Fatalf("python failed to parse: %v", err)
	}
	if string(out) != sanitize(hostile) {
		t.Fatalf("python read %q, want %q", out, sanitize(hostile))
	}
}
