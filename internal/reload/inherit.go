package reload

import (
	"github.com/drover-sh/drover/internal/config"

	"os"
	"strconv"
)

// Inheritance is what one generation gets from drover besides its
// command: listening sockets and environment entries.
type Inheritance struct {
	// Files are for spawn.Spec.ExtraFiles (fds 3, 4, ...): the program's
	// sockets, then the generation's probe socket. Set spawn.Spec.ListenFDs
	// to len(Files). Close them once spawn.Start returned.
	Files []*os.File
	// Names are for spawn.Spec.ListenNames (LISTEN_FDNAMES).
	Names []string
	// Env entries ("KEY=value") go after spawn.BuildEnv's, overriding it:
	// DROVER_GENERATION always, NOTIFY_SOCKET and DROVER_PROBE_ADDR from
	// the probe, SERVER_STARTER_PORT/SERVER_STARTER_GENERATION for
	// presets that inherit the Server::Starter way.
	Env []string
}

// Assemble builds generation gen's inheritance from the program's socket
// Set (nil: none), its GenProbe (nil: none) and its preset. On error no
// file is left open.
func Assemble(set *Set, gp *GenProbe, preset config.Preset, gen int) (*Inheritance, error) {
	in := &Inheritance{Env: []string{"DROVER_GENERATION=" + strconv.Itoa(gen)}}
	var probe *Set
	if gp != nil {
		probe = gp.ProbeSet()
		in.Env = append(in.Env, gp.Env()...)
	}
	for _, s := range []*Set{set, probe} {
		if s == nil {
			continue
		}
		files, err := s.Files()
		if err != nil {
			in.Close()
			return nil, err
		}
		in.Files = append(in.Files, files...)
		in.Names = append(in.Names, s.Names()...)
	}
	if preset.Inherit&config.ServerStarter != 0 {
		in.Env = append(in.Env, ServerStarterEnv(gen, set, probe)...)
	}
	return in, nil
}

// Close closes Files (the daemon's duplicates; children keep theirs). It
// is idempotent.
func (in *Inheritance) Close() {
	for _, f := range in.Files {
		f.Close()
	}
	in.Files = nil
}
