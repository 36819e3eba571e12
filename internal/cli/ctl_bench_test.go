package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// BenchmarkStatus500 measures `status` against a daemon with 500
// programs: in-process as `drover ctl status` (connect, getVersion,
// getAllProcessInfo, decode, format) and as `drover status` (connect,
// drover.getAllProcessStatus, decode, format), the drover binary's wall
// time (process start included), and
// the real supervisorctl's on the same daemon for comparison. The
// programs are not started (autostart=false) so the benchmark does not
// need 500 children; the answer has the same 500 structs.
//
//	go test -run '^$' -bench Status500 -benchtime 20x ./internal/cli/
func BenchmarkStatus500(b *testing.B) {
	var sections strings.Builder
	for i := range 500 {
		fmt.Fprintf(&sections, "[program:p%03d]\ncommand=/bin/true\nautostart=false\n", i)
	}
	d := startDaemon(b, "", sections.String())
	b.Run("in-process", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			err := runSupervisorctl(context.Background(), ctlIO{strings.NewReader(""), io.Discard, io.Discard}, "drover ctl", []string{"-c", d.conf, "status"})
			if exitOf(b, err) != exitStatusNotRunning {
				b.Fatal(err)
			}
		}
	})
	b.Run("in-process-native", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			err := runCtlVerb(context.Background(), ctlIO{strings.NewReader(""), io.Discard, io.Discard}, "drover status", findVerb("status"),
				[]string{"-c", d.conf}, ctlFlags{native: true})
			if exitOf(b, err) != exitStatusNotRunning {
				b.Fatal(err)
			}
		}
	})
	bin := droverBinary(b)
	run := func(b *testing.B, name string, args ...string) {
		for b.Loop() {
			cmd := exec.Command(name, args...)
			out, err := cmd.Output()
			if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != exitStatusNotRunning || strings.Count(string(out), "\n") != 500 {
				b.Fatalf("%s: %v\n%s", name, err, out)
			}
		}
	}
	b.Run("drover-binary", func(b *testing.B) { run(b, bin, "status", "-c", d.conf) })
	if _, err := os.Stat(realSupervisorctl); err == nil {
		b.Run("supervisorctl", func(b *testing.B) { run(b, realSupervisorctl, "-c", d.conf, "status") })
	}
}
