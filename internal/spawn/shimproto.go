package spawn

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// The shim's command line is
//
//	drover __drover_spawn_shim <config> <path> <argv0> <argv1>...
//
// where <config> is ";"-separated fields (numbers, or hex for the
// directory, so no quoting is ever needed) and <path> is the file to exec.
// The target's environment is the shim's own environment, unchanged
// except for LISTEN_PID. The shim and the daemon are always the same
// binary (/proc/self/exe), so the format needs no compatibility.
const protoVersion = "v1"

// shimConfig is what the shim applies between fork and exec.
type shimConfig struct {
	errFD   int      // the write end of the report pipe
	user    bool     // drop to uid/gid/groups
	uid     uint32   //
	gid     uint32   //
	groups  []uint32 // full setgroups list, GID first
	dir     string   // chdir target as written
	hasDir  bool     //
	umask   int      // -1 keeps the inherited umask
	rlimits []Rlimit //
	listen  bool     // set LISTEN_PID to the shim's (= the target's) pid
}

func (c *shimConfig) encode() string {
	f := []string{protoVersion, "e=" + strconv.Itoa(c.errFD)}
	if c.user {
		f = append(f, "u="+u32(c.uid), "g="+u32(c.gid))
		gs := make([]string, len(c.groups))
		for i, g := range c.groups {
			gs[i] = u32(g)
		}
		f = append(f, "G="+strings.Join(gs, ","))
	}
	if c.hasDir {
		f = append(f, "d="+hex.EncodeToString([]byte(c.dir)))
	}
	if c.umask >= 0 {
		f = append(f, "m="+strconv.Itoa(c.umask))
	}
	for _, r := range c.rlimits {
		f = append(f, fmt.Sprintf("r=%d:%d:%d", r.Resource, r.Soft, r.Hard))
	}
	if c.listen {
		f = append(f, "l")
	}
	return strings.Join(f, ";")
}

// decodeShimConfig parses encode's output. It never panics; any field it
// does not understand is an error wrapping ErrShimProtocol.
func decodeShimConfig(s string) (*shimConfig, error) {
	fields := strings.Split(s, ";")
	if len(fields) < 2 || fields[0] != protoVersion {
		return nil, fmt.Errorf("%w: version %q", ErrShimProtocol, fields[0])
	}
	c := &shimConfig{errFD: -1, umask: -1}
	hasGID := false
	bad := func(f string) error { return fmt.Errorf("%w: field %q", ErrShimProtocol, f) }
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(f, "=")
		var err error
		switch k {
		case "e":
			c.errFD, err = strconv.Atoi(v)
			if err == nil && c.errFD < 3 {
				err = bad(f)
			}
		case "u":
			c.user = true
			c.uid, err = parseU32(v)
		case "g":
			c.gid, err = parseU32(v)
			hasGID = true
		case "G":
			if v != "" {
				for _, g := range strings.Split(v, ",") {
					var n uint32
					if n, err = parseU32(g); err != nil {
						break
					}
					c.groups = append(c.groups, n)
				}
			}
		case "d":
			var b []byte
			b, err = hex.DecodeString(v)
			c.dir, c.hasDir = string(b), true
		case "m":
			c.umask, err = strconv.Atoi(v)
			if err == nil && (c.umask < 0 || c.umask > 0o777) {
				err = bad(f)
			}
		case "r":
			var r Rlimit
			parts := strings.Split(v, ":")
			if len(parts) != 3 {
				return nil, bad(f)
			}
			if r.Resource, err = strconv.Atoi(parts[0]); err == nil {
				if r.Soft, err = strconv.ParseUint(parts[1], 10, 64); err == nil {
					r.Hard, err = strconv.ParseUint(parts[2], 10, 64)
				}
			}
			c.rlimits = append(c.rlimits, r)
		case "l":
			c.listen = true
		default:
			return nil, bad(f)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: field %q: %v", ErrShimProtocol, f, err)
		}
	}
	if c.errFD < 3 {
		return nil, fmt.Errorf("%w: no report fd", ErrShimProtocol)
	}
	if c.user != hasGID { // never drop to a uid with gid 0 by omission
		return nil, fmt.Errorf("%w: uid and gid must come together", ErrShimProtocol)
	}
	return c, nil
}

func u32(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

func parseU32(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err
}

// The report the shim writes on failure is "<step> <errno> <arg-hex>".
// An EOF without a report means the target was exec'd.

func encodeReport(step string, errno int, arg string) []byte {
	return []byte(step + " " + strconv.Itoa(errno) + " " + hex.EncodeToString([]byte(arg)))
}

func decodeReport(b []byte) (step string, errno int, arg string, err error) {
	f := strings.Split(string(b), " ")
	if len(f) != 3 || f[0] == "" {
		return "", 0, "", fmt.Errorf("%w: report %q", ErrShimProtocol, b)
	}
	if errno, err = strconv.Atoi(f[1]); err != nil || errno < 0 {
		return "", 0, "", fmt.Errorf("%w: report %q", ErrShimProtocol, b)
	}
	a, err := hex.DecodeString(f[2])
	if err != nil {
		return "", 0, "", fmt.Errorf("%w: report %q", ErrShimProtocol, b)
	}
	return f[0], errno, string(a), nil
}
