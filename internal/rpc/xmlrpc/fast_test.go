package xmlrpc

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// pythonStyle is how Python's xmlrpc.client (supervisord) writes an
// answer: newlines between elements, only &, < and > escaped.
const pythonStyle = `<?xml version='1.0'?>
<methodResponse>
<params>
<param>
<value><array><data>
<value><struct>
<member>
<name>name</name>
<value><string>web &amp; "api" &lt;1&gt;</string></value>
</member>
<member>
<name>pid</name>
<value><int>1234</int></value>
</member>
<member>
<name>ok</name>
<value><boolean>1</boolean></value>
</member>
<member>
<name>load</name>
<value><double>0.5</double></value>
</member>
<member>
<name>untyped</name>
<value>  plain text </value>
</member>
<member>
<name>empty</name>
<value><string></string></value>
</member>
</struct></value>
<value><i4>-7</i4></value>
<value><array><data>
</data></array></value>
</data></array></value>
</param>
</params>
</methodResponse>
`

func TestParseResponseMatchesGeneralDecoder(t *testing.T) {
	var drover bytes.Buffer
	err := encodeResponse(&drover, []any{
		Struct{{Name: "name", Value: "a\tb\r\nc\rd"}, {Name: "pid", Value: 1 << 30}, {Name: "x", Value: true}, {Name: "neg", Value: -1}},
		"&<>'\"é ☃ \x1b[0m", []any{}, map[string]any{}, 3.25, false,
	})
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{
		"python":   pythonStyle,
		"drover":   drover.String(),
		"fault":    `<?xml version="1.0"?><methodResponse><fault><value><struct><member><name>faultCode</name><value><int>10</int></value></member><member><name>faultString</name><value><string>BAD_NAME: x</string></value></member></struct></value></fault></methodResponse>`,
		"charrefs": `<methodResponse><params><param><value><string>&#65;&#x42;&#13;&apos;&quot;</string></value></param></params></methodResponse>`,
		"empties":  `<methodResponse><params><param><value><array><data><value/><value><string/></value><value><struct/></value></data></array></value></param></params></methodResponse>`,
		"noproc":   `<methodResponse><params><param><value>x</value></param></params></methodResponse>`,
	}
	for name, doc := range docs {
		fast, ferr := fastResponse(doc)
		slow, serr := decodeResponse(strings.NewReader(doc))
		if errors.Is(ferr, errSlowPath) {
			t.Errorf("%s: fast path gave up", name)
			continue
		}
		if !reflect.DeepEqual(fast, slow) || !sameErr(ferr, serr) {
			t.Errorf("%s: fast %#v, %v; general %#v, %v", name, fast, ferr, slow, serr)
		}
	}
}

func sameErr(a, b error) bool {
	var fa, fb *Fault
	if errors.As(a, &fa) || errors.As(b, &fb) {
		return errors.As(a, &fa) && errors.As(b, &fb) && *fa == *fb
	}
	return (a == nil) == (b == nil)
}

func TestParseResponseFallsBack(t *testing.T) {
	for name, doc := range map[string]string{
		"comment":  `<methodResponse><!-- hi --><params><param><value><int>1</int></value></param></params></methodResponse>`,
		"cdata":    `<methodResponse><params><param><value><string><![CDATA[<x>]]></string></value></param></params></methodResponse>`,
		"datetime": `<methodResponse><params><param><value><dateTime.iso8601>20260102T15:04:05</dateTime.iso8601></value></param></params></methodResponse>`,
		"base64":   `<methodResponse><params><param><value><base64>aGk=</base64></value></param></params></methodResponse>`,
		"latin1":   "<?xml version='1.0' encoding='ISO-8859-1'?><methodResponse><params><param><value><string>caf\xe9</string></value></param></params></methodResponse>",
		"attrs":    `<methodResponse><params><param><value><string a="1">x</string></value></param></params></methodResponse>`,
	} {
		if _, err := fastResponse(doc); !errors.Is(err, errSlowPath) {
			t.Errorf("%s: fast path did not give up: %v", name, err)
		}
		fast, ferr := ParseResponse(doc)
		slow, serr := decodeResponse(strings.NewReader(doc))
		if !reflect.DeepEqual(fast, slow) || (ferr == nil) != (serr == nil) {
			t.Errorf("%s: %#v %v vs %#v %v", name, fast, ferr, slow, serr)
		}
	}
	for _, bad := range []string{"", "<", "<methodResponse>", "<methodResponse><params><param><value><int>x</int></value></param></params></methodResponse>",
		"<methodResponse><params><param><value><string>a</int></value></param></params></methodResponse>", "junk"} {
		if _, err := ParseResponse(bad); err == nil {
			t.Errorf("%q decoded without error", bad)
		}
	}
}

// FuzzParseResponse: no input panics, and whenever the fast path answers,
// the general decoder gives the same value (or also fails only where
// the fast path is knowingly more lenient, which it never is for values).
func FuzzParseResponse(f *testing.F) {
	f.Add([]byte(pythonStyle))
	f.Add([]byte(`<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>10</int></value></member><member><name>faultString</name><value><string>BAD_NAME</string></value></member></struct></value></fault></methodResponse>`))
	f.Add([]byte(`<methodResponse><params><param><value><string>&#65;&amp;</string></value></param></params></methodResponse>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseResponse(string(b))
		fast, ferr := fastResponse(string(b))
		if errors.Is(ferr, errSlowPath) {
			return
		}
		slow, serr := decodeResponse(bytes.NewReader(b))
		if serr == nil && (!reflect.DeepEqual(fast, slow) || ferr != nil) {
			t.Fatalf("fast %#v %v, general %#v", fast, ferr, slow)
		}
		var xf *Fault
		if errors.As(serr, &xf) && !sameErr(ferr, serr) {
			t.Fatalf("fault mismatch: %v vs %v", ferr, serr)
		}
		_ = v
		_ = err
	})
}

// BenchmarkParseResponse500 decodes a getAllProcessInfo answer for 500
// programs with the fast path and with the general decoder.
func BenchmarkParseResponse500(b *testing.B) {
	info := make([]Struct, 500)
	for i := range info {
		info[i] = Struct{{Name: "name", Value: "web"}, {Name: "group", Value: "web"}, {Name: "start", Value: 1700000000}, {Name: "stop", Value: 0},
			{Name: "now", Value: 1700000100}, {Name: "state", Value: 20}, {Name: "statename", Value: "RUNNING"}, {Name: "spawnerr", Value: ""},
			{Name: "exitstatus", Value: 0}, {Name: "logfile", Value: "/var/log/web.log"}, {Name: "stdout_logfile", Value: "/var/log/web.log"},
			{Name: "stderr_logfile", Value: ""}, {Name: "pid", Value: 1234}, {Name: "description", Value: "pid 1234, uptime 0:01:40"}}
	}
	var doc bytes.Buffer
	if err := encodeResponse(&doc, info); err != nil {
		b.Fatal(err)
	}
	b.Run("fast", func(b *testing.B) {
		text := doc.String()
		b.SetBytes(int64(len(text)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseResponse(text); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-xml", func(b *testing.B) {
		b.SetBytes(int64(doc.Len()))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeResponse(bytes.NewReader(doc.Bytes())); err != nil {
				b.Fatal(err)
			}
		}
	})
}
