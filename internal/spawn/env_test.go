package spawn

import (
	"slices"
	"testing"
)

func TestEnvBaseBuild(t *testing.T) {
	u := &User{Name: "app", Home: "/home/app", UID: 1000, GID: 1000}
	tests := []struct {
		name   string
		daemon []string // the daemon's environ
		in     EnvInput
		want   []string
	}{
		{
			name:   "merge order and sorting",
			daemon: []string{"PATH=/bin", "Z=daemon", "A=daemon", "LISTEN_FDS=2", "LISTEN_PID=9", "LISTEN_FDNAMES=x", "junk", "=x"},
			in: EnvInput{
				ProcessName: "web_01", GroupName: "web", ServerURL: "unix:///run/s.sock",
				Global:  []Var{{"A", "global"}, {"G", "g"}},
				Program: []Var{{"A", "program"}, {"P", "1"}, {"P", "2"}},
			},
			want: []string{"A=program", "G=g", "P=2", "PATH=/bin", "SUPERVISOR_ENABLED=1",
				"SUPERVISOR_GROUP_NAME=web", "SUPERVISOR_PROCESS_NAME=web_01",
				"SUPERVISOR_SERVER_URL=unix:///run/s.sock", "Z=daemon"},
		},
		{
			name: "no server url, global overrides SUPERVISOR_",
			in: EnvInput{ProcessName: "p", GroupName: "g",
				Global: []Var{{"SUPERVISOR_PROCESS_NAME", "mine"}}},
			want: []string{"SUPERVISOR_ENABLED=1", "SUPERVISOR_GROUP_NAME=g", "SUPERVISOR_PROCESS_NAME=mine"},
		},
		{
			name:   "user drop sets HOME USER LOGNAME, PWD from directory",
			daemon: []string{"HOME=/root", "USER=root", "LOGNAME=root", "PWD=/"},
			in:     EnvInput{ProcessName: "p", User: u, Directory: "/srv/app/current"},
			want: []string{"HOME=/home/app", "LOGNAME=app", "PWD=/srv/app/current",
				"SUPERVISOR_ENABLED=1", "SUPERVISOR_PROCESS_NAME=p", "USER=app"},
		},
		{
			name:   "environment= wins over user and directory",
			daemon: []string{"HOME=/root"},
			in: EnvInput{ProcessName: "p", User: u, Directory: "/d",
				Global: []Var{{"HOME", "/custom"}}, Program: []Var{{"USER", "u2"}, {"PWD", "/p"}}},
			want: []string{"HOME=/custom", "LOGNAME=app", "PWD=/p", "SUPERVISOR_ENABLED=1",
				"SUPERVISOR_PROCESS_NAME=p", "USER=u2"},
		},
		{
			name:   "a key twice in the daemon's environ: the last wins",
			daemon: []string{"A=1", "B=x", "A=2", "C=3=4"},
			in:     EnvInput{ProcessName: "p"},
			want:   []string{"A=2", "B=x", "C=3=4", "SUPERVISOR_ENABLED=1", "SUPERVISOR_PROCESS_NAME=p"},
		},
		{
			name:   "without user the daemon's HOME stays",
			daemon: []string{"HOME=/root", "PWD=/"},
			in:     EnvInput{ProcessName: "p"},
			want:   []string{"HOME=/root", "PWD=/", "SUPERVISOR_ENABLED=1", "SUPERVISOR_PROCESS_NAME=p"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// One prepared base serves many builds with the same result.
			base := NewEnvBase(tc.daemon)
			for range 2 {
				if got := base.Build(tc.in); !slices.Equal(got, tc.want) {
					t.Errorf("got  %q\nwant %q", got, tc.want)
				}
			}
		})
	}
}
