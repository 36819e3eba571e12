package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"testing"
	"testing/synctest"

	"github.com/drover-sh/drover/internal/config"
)

// resolvingHost adds command checks to the fake host.
type resolvingHost struct {
	*fakeHost
	bad map[string]error
}

func (h resolvingHost) Resolve(p *config.Process) error { return h.bad[p.Name] }

// startProcess checks the command first and refuses without a state change.
func TestResolveBeforeStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fh := newFakeHost()
		h := resolvingHost{fh, map[string]error{
			"gone":  fmt.Errorf("can't find command 'gone': %w", fs.ErrNotExist),
			"noexe": errors.New("command at '/bin/noexe' is not executable"),
		}}
		s := New(cfgOf(grp("g", 1, prog("gone", manual), prog("noexe", manual), prog("ok", manual))), h, slog.New(slog.DiscardHandler))
		ctx, cancel := context.WithCancel(bg)
		defer cancel()
		go func() { _ = s.Run(ctx) }()
		synctest.Wait()
		err := s.StartProcess(bg, "g:gone", false)
		wantCode(t, err, CodeNoFile)
		if err.Error() != "NO_FILE: can't find command 'gone': file does not exist" {
			t.Fatal(err)
		}
		wantCode(t, s.StartProcess(bg, "g:noexe", true), CodeNotExecutable)
		wantCode(t, s.StartProcess(bg, "g:nope", true), CodeBadName)
		if n := len(fh.spawnList()); n != 0 {
			t.Fatalf("%d spawns", n)
		}
		res, err := s.StartGroup(bg, "g", false)
		if err != nil || len(res) != 3 || res[0].Status != CodeNoFile || res[1].Status != CodeNotExecutable || res[2].Status != CodeSuccess {
			t.Fatalf("%v %v", res, err)
		}
		in, _ := s.ProcessInfo(bg, "g:gone")
		if in.State != Stopped {
			t.Fatal(in.State)
		}
	})
}
