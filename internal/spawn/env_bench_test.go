package spawn

import (
	"strconv"
	"testing"
)

// benchDaemonEnv is a daemon environment of a typical size (40 variables).
func benchDaemonEnv() []string {
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root", "LANG=C.UTF-8", "USER=root", "LOGNAME=root", "SHELL=/bin/bash", "PWD=/"}
	for i := len(env); i < 40; i++ {
		env = append(env, "VAR_"+strconv.Itoa(i)+"=some value of a usual length, "+strconv.Itoa(i))
	}
	return env
}

// BenchmarkBuildEnv is one child's environment built from a 40-variable
// daemon environment, as each spawn does.
func BenchmarkBuildEnv(b *testing.B) {
	in := EnvInput{Daemon: benchDaemonEnv(), ProcessName: "web_01", GroupName: "web",
		ServerURL: "unix:///run/supervisor.sock", Program: []Var{{"PORT", "8080"}}}
	b.ReportAllocs()
	for b.Loop() {
		_ = BuildEnv(in)
	}
}

// BenchmarkEnvBaseBuild is the same with the daemon's environment prepared
// once (NewEnvBase), as the daemon does.
func BenchmarkEnvBaseBuild(b *testing.B) {
	in := EnvInput{ProcessName: "web_01", GroupName: "web",
		ServerURL: "unix:///run/supervisor.sock", Program: []Var{{"PORT", "8080"}}}
	base := NewEnvBase(benchDaemonEnv())
	b.ReportAllocs()
	for b.Loop() {
		_ = base.Build(in)
	}
}
