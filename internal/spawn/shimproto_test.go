package spawn

import (
	"errors"
	"reflect"
	"testing"
)

func TestShimConfigRoundTrip(t *testing.T) {
	for _, c := range []shimConfig{
		{errFD: 3, umask: -1},
		{errFD: 7, user: true, uid: 65534, gid: 65534, groups: []uint32{65534, 4}, dir: "/srv/a b;c=d\n",
			hasDir: true, umask: 0o027, rlimits: []Rlimit{{Resource: 7, Soft: 1024, Hard: 0}, {Resource: 6, Soft: ^uint64(0), Hard: ^uint64(0)}},
			listen: true},
		{errFD: 4, user: true, uid: 0, gid: 0, umask: 0, hasDir: true, dir: ""},
	} {
		got, err := decodeShimConfig(c.encode())
		if err != nil {
			t.Fatalf("%q: %v", c.encode(), err)
		}
		if !reflect.DeepEqual(*got, c) {
			t.Errorf("round trip of %q:\n got %+v\nwant %+v", c.encode(), *got, c)
		}
	}
}

func TestShimConfigRejects(t *testing.T) {
	for _, s := range []string{"", "v2;e=3", "v1", "v1;e=2", "v1;e=x", "v1;e=3;m=999", "v1;e=3;m=-1",
		"v1;e=3;u=-1", "v1;e=3;d=zz", "v1;e=3;r=1:2", "v1;e=3;r=a:1:1", "v1;e=3;G=1,,2", "v1;e=3;q", "v1;e=3;u=5", "v1;e=3;g=5"} {
		if _, err := decodeShimConfig(s); !errors.Is(err, ErrShimProtocol) {
			t.Errorf("decode(%q) = %v, want ErrShimProtocol", s, err)
		}
	}
}

func TestReportRoundTrip(t *testing.T) {
	step, errno, arg, err := decodeReport(encodeReport("chdir", 2, "/x y"))
	if err != nil || step != "chdir" || errno != 2 || arg != "/x y" {
		t.Fatalf("got %q %d %q %v", step, errno, arg, err)
	}
	for _, b := range []string{"", "chdir", "chdir 2", "chdir x 00", " 2 00", "chdir -1 00", "chdir 2 zz"} {
		if _, _, _, err := decodeReport([]byte(b)); !errors.Is(err, ErrShimProtocol) {
			t.Errorf("decodeReport(%q) = %v, want ErrShimProtocol", b, err)
		}
	}
}

func TestShimMainRejectsBadArgs(t *testing.T) {
	for _, args := range [][]string{nil, {"drover"}, {"drover", shimArg}, {"drover", shimArg, "v1;e=3", "/bin/true"},
		{"drover", shimArg, "garbage", "/bin/true", "true"}} {
		if err := ShimMain(args); !errors.Is(err, ErrShimProtocol) {
			t.Errorf("ShimMain(%q) = %v, want ErrShimProtocol", args, err)
		}
	}
}

func FuzzDecodeShimConfig(f *testing.F) {
	f.Add("v1;e=3")
	f.Add((&shimConfig{errFD: 5, user: true, uid: 1, gid: 2, groups: []uint32{2, 3}, dir: "/d", hasDir: true,
		umask: 0o22, rlimits: []Rlimit{{Resource: 7, Soft: 1, Hard: 2}}, listen: true}).encode())
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeShimConfig(s)
		if err != nil {
			return
		}
		again, err := decodeShimConfig(c.encode())
		if err != nil {
			t.Fatalf("re-decode of %q: %v", c.encode(), err)
		}
		if again.encode() != c.encode() {
			t.Fatalf("unstable: %q vs %q", again.encode(), c.encode())
		}
	})
}

func FuzzDecodeReport(f *testing.F) {
	f.Add([]byte("exec 13 2f78"))
	f.Fuzz(func(t *testing.T, b []byte) {
		step, errno, arg, err := decodeReport(b)
		if err != nil {
			return
		}
		if s2, e2, a2, err := decodeReport(encodeReport(step, errno, arg)); err != nil || s2 != step || e2 != errno || a2 != arg {
			t.Fatalf("round trip of %q failed", b)
		}
	})
}
