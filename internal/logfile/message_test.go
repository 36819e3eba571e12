package logfile

import "testing"

func TestChildOutputMessage(t *testing.T) {
	cases := []struct{ name, ch, data, want string }{
		{"web", "stdout", "hello\n", "'web' stdout output:\nhello\n"},
		{"it's", "stderr", "x", "\"it's\" stderr output:\nx"},
		{"web", "stdout", "bad \xff\x00'\n", "'web' stdout output:\nUndecodable: b\"bad \\xff\\x00'\\n\""},
		{"web", "stdout", "\xfe\\", "'web' stdout output:\nUndecodable: b'\\xfe\\\\'"},
	}
	for _, c := range cases {
		if got := ChildOutputMessage(c.name, c.ch, []byte(c.data)); got != c.want {
			t.Errorf("got %q want %q", got, c.want)
		}
	}
}
