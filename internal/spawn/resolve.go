package spawn

import (
	"strings"

	"github.com/drover-sh/drover/internal/pyrepr"
	"golang.org/x/sys/unix"
)

// defaultPATH is supervisord's fallback when the daemon has no $PATH.
var defaultPATH = []string{"/bin", "/usr/bin", "/usr/local/bin"}

// Resolve finds the file to execute for a command whose first word is
// argv0, exactly as supervisord 4.2 does in the daemon before it forks:
//
//   - argv0 containing "/" is used as given (a relative name is relative
//     to the daemon's working directory at check time);
//   - otherwise each directory of a PATH list is joined with argv0 and the
//     first candidate that stat()s (following symlinks) wins, even if it is
//     a directory. The list is programPATH when the program's merged
//     environment= sets PATH (haveProgramPATH; an empty value is the list
//     [""], i.e. the current directory), else daemonPATH (the daemon's own
//     $PATH) when non-empty, else /bin:/usr/bin:/usr/local/bin;
//   - the candidate must exist, not be a directory, have an x bit and pass
//     access(X_OK) for the daemon's real uid.
//
// On failure the error is a *ResolveError wrapping ErrNotFound,
// ErrNotExecutable, ErrNoPermission (or ErrBadCommand for an empty argv0)
// with supervisord's message. Resolve reads no global state: the caller
// passes both PATH values, so it only touches the file system.
func Resolve(argv0, programPATH string, haveProgramPATH bool, daemonPATH string) (string, error) {
	if argv0 == "" {
		return "", &ResolveError{Err: ErrBadCommand, msg: "command is empty"}
	}
	filename := argv0
	var st unix.Stat_t
	found := false
	if strings.Contains(argv0, "/") {
		found = unix.Stat(argv0, &st) == nil
	} else {
		dirs := defaultPATH
		switch {
		case haveProgramPATH:
			dirs = strings.Split(programPATH, ":")
		case daemonPATH != "":
			dirs = strings.Split(daemonPATH, ":")
		}
		for _, dir := range dirs {
			cand := pyJoin(dir, argv0)
			if unix.Stat(cand, &st) == nil {
				filename, found = cand, true
				break
			}
		}
	}
	return filename, checkExec(filename, &st, found)
}

// checkExec is supervisord's check_execv_args.
func checkExec(filename string, st *unix.Stat_t, found bool) error {
	r := pyrepr.Str(filename)
	switch {
	case !found:
		return &ResolveError{Err: ErrNotFound, Path: filename, msg: "can't find command " + r}
	case st.Mode&unix.S_IFMT == unix.S_IFDIR:
		return &ResolveError{Err: ErrNotExecutable, Path: filename, msg: "command at " + r + " is a directory"}
	case st.Mode&0o111 == 0:
		return &ResolveError{Err: ErrNotExecutable, Path: filename, msg: "command at " + r + " is not executable"}
	case unix.Access(filename, unix.X_OK) != nil:
		return &ResolveError{Err: ErrNoPermission, Path: filename, msg: "no permission to run command " + r}
	}
	return nil
}

// pyJoin is os.path.join(dir, name) for a name without "/": no cleaning,
// so "a/../b" stays as written, like supervisord.
func pyJoin(dir, name string) string {
	switch {
	case dir == "":
		return name
	case strings.HasSuffix(dir, "/"):
		return dir + name
	}
	return dir + "/" + name
}
