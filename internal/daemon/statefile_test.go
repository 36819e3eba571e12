package daemon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/supervisor"
	"golang.org/x/sys/unix"
)

// TestWriteStateKeepsTwoInodes: the state file is replaced whole, write
// after write, by trading names with its ".next" file: no inode is made
// or freed after the first two, and a shorter content leaves no tail.
func TestWriteStateKeepsTwoInodes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d.pid.state")
	ino := func(p string) uint64 {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		return st.Ino
	}
	inodes := map[uint64]bool{}
	for i, content := range []string{"first, the longest content", "second", "third one", "4"} {
		err := writeState(path, func(w io.Writer) error {
			_, err := io.WriteString(w, content)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil || string(b) != content {
			t.Fatalf("write %d: read %q, %v", i, b, err)
		}
		inodes[ino(path)] = true
		if i > 0 {
			inodes[ino(path+".next")] = true
		}
	}
	if len(inodes) != 2 {
		t.Fatalf("the state file used %d inodes over 4 writes, want 2", len(inodes))
	}
}

// encodeState is the encoder's whole output for st.
func encodeState(t testing.TB, enc *stateEncoder, st crashState) []byte {
	var buf bytes.Buffer
	enc.start(&buf, st)
	for i := range st.Procs {
		enc.add(&st.Procs[i])
	}
	if err := enc.finish(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestStateEncoderMatchesMarshal: the encoder writes what json.Marshal
// does, for records whose every field is set at random (or left zero, for
// omitempty) by reflection: a field added to the record and not to the
// encoder fails here. Strings include what JSON escapes.
func TestStateEncoderMatchesMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	strs := []string{"web", "/var/log/drover/web-stdout---supervisor-x1.log", `a"b\c`, "<tag>&", "tab\there", "é ü", "\u2028", "bad\xffutf8", ""}
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		isTime := v.Type() == reflect.TypeFor[time.Time]()
		if r.IntN(3) == 0 && (v.Kind() != reflect.Struct || isTime) {
			v.Set(reflect.Zero(v.Type())) // omitempty's case, and never set times
			return
		}
		switch v.Kind() {
		case reflect.String:
			v.SetString(strs[r.IntN(len(strs))])
		case reflect.Int:
			v.SetInt(r.Int64N(1<<22) - 1<<10)
		case reflect.Uint64:
			v.SetUint(r.Uint64())
		case reflect.Struct:
			if isTime {
				v.Set(reflect.ValueOf(time.Unix(r.Int64N(4e9), r.Int64N(1e9)).In(time.FixedZone("", r.IntN(50)*900))))
				return
			}
			for i := range v.NumField() {
				f := v.Type().Field(i)
				if !f.IsExported() || f.Tag.Get("json") == "-" {
					continue
				}
				fill(v.Field(i))
			}
		default:
			t.Fatalf("field of kind %s: teach the encoder and this test", v.Kind())
		}
	}
	var enc stateEncoder
	for n := range 200 {
		st := crashState{Version: stateVersion, DaemonPid: r.IntN(1 << 22), DaemonStart: r.Uint64(), Procs: []crashProc{}}
		for range n % 7 {
			var p crashProc
			fill(reflect.ValueOf(&p).Elem())
			st.Procs = append(st.Procs, p)
		}
		got := encodeState(t, &enc, st)
		want, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("case %d:\n got %s\nwant %s", n, got, want)
		}
	}
}

// TestStateEncoderStreams: a state bigger than the buffer reaches the
// writer whole, and a write error is reported by finish.
func TestStateEncoderStreams(t *testing.T) {
	st := crashState{Version: stateVersion, DaemonPid: 1, DaemonStart: 2}
	for i := range 2000 {
		name := fmt.Sprintf("p%04d", i)
		st.Procs = append(st.Procs, crashProc{ProcRecord: supervisor.ProcRecord{Group: name, Name: name, Pid: 1000 + i}})
	}
	var enc stateEncoder
	got := encodeState(t, &enc, st)
	if len(got) <= stateBufSize {
		t.Fatalf("only %d bytes: the test wants more than the buffer", len(got))
	}
	var back crashState
	if err := json.Unmarshal(got, &back); err != nil || len(back.Procs) != 2000 || back.Procs[1999].Pid != 2999 {
		t.Fatalf("read back %d records, %v", len(back.Procs), err)
	}
	enc.start(failWriter{}, st)
	for i := range st.Procs {
		enc.add(&st.Procs[i])
	}
	if err := enc.finish(); err == nil {
		t.Fatal("finish: no error from a failing writer")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, io.ErrShortWrite }

// BenchmarkStateEncode500: one state file write's encoding with 500
// records (programs starting: the writer runs every stateWriteGap).
func BenchmarkStateEncode500(b *testing.B) {
	procs := make([]crashProc, 500)
	for i := range procs {
		name := fmt.Sprintf("p%04d", i)
		procs[i] = crashProc{ProcRecord: supervisor.ProcRecord{Group: name, Name: name, State: supervisor.Running, Pid: 1000 + i,
			LastStart: time.Now(), Logs: supervisor.Logs{Stdout: "/var/log/drover/" + name + "-stdout---supervisor-abcdefgh.log"}},
			StartTicks: uint64(i), KeeperPid: 1000 + i}
	}
	var enc stateEncoder
	st := crashState{Version: stateVersion, DaemonPid: 1, DaemonStart: 2, Procs: procs}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		for j := range 10 {
			procs[(i*10+j)%500].Pid++
		}
		enc.start(io.Discard, st)
		for k := range procs {
			enc.add(&procs[k])
		}
		if err := enc.finish(); err != nil {
			b.Fatal(err)
		}
	}
}
