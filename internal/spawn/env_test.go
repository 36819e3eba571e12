package spawn

import (
	"slices"
	"testing"
)

func TestBuildEnv(t *testing.T) {
	u := &User{Name: "app", Home: "/home/app", UID: 1000, GID: 1000}
	tests := []struct {
		name string
		in   EnvInput
		want []string
	}{
		{
			name: "merge order and sorting",
			in: EnvInput{
				Daemon:      []string{"PATH=/bin", "Z=daemon", "A=daemon", "LISTEN_FDS=2", "LISTEN_PID=9", "LISTEN_FDNAMES=x", "junk", "=x"},
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
			name: "user drop sets HOME USER LOGNAME, PWD from directory",
			in: EnvInput{Daemon: []string{"HOME=/root", "USER=root", "LOGNAME=root", "PWD=/"},
				ProcessName: "p", User: u, Directory: "/srv/app/current"},
			want: []string{"HOME=/home/app", "LOGNAME=app", "PWD=/srv/app/current",
				"SUPERVISOR_ENABLED=1", "SUPERVISOR_PROCESS_NAME=p", "USER=app"},
		},
		{
			name: "environment= wins over user and directory",
			in: EnvInput{Daemon: []string{"HOME=/root"}, ProcessName: "p", User: u, Directory: "/d",
				Global: []Var{{"HOME", "/custom"}}, Program: []Var{{"USER", "u2"}, {"PWD", "/p"}}},
			want: []string{"HOME=/custom", "LOGNAME=app", "PWD=/p", "SUPERVISOR_ENABLED=1",
				"SUPERVISOR_PROCESS_NAME=p", "USER=u2"},
		},
		{
			name: "a key twice in the daemon's environ: the last wins",
			in:   EnvInput{Daemon: []string{"A=1", "B=x", "A=2", "C=3=4"}, ProcessName: "p"},
			want: []string{"A=2", "B=x", "C=3=4", "SUPERVISOR_ENABLED=1", "SUPERVISOR_PROCESS_NAME=p"},
		},
		{
			name: "without user the daemon's HOME stays",
			in:   EnvInput{Daemon: []string{"HOME=/root", "PWD=/"}, ProcessName: "p"},
			want: []string{"HOME=/root", "PWD=/", "SUPERVISOR_ENABLED=1", "SUPERVISOR_PROCESS_NAME=p"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := BuildEnv(tc.in)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
			if again := BuildEnv(tc.in); !slices.Equal(again, got) {
				t.Errorf("not deterministic: %q vs %q", again, got)
			}
			// One prepared base serves many builds with the same result.
			base := NewEnvBase(tc.in.Daemon)
			for range 2 {
				if b := base.Build(tc.in); !slices.Equal(b, tc.want) {
					t.Errorf("EnvBase.Build: %q", b)
				}
			}
		})
	}
}
