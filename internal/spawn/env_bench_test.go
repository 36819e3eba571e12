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

// BenchmarkEnvBaseBuild is one child's environment built from a 40-variable
// daemon environment prepared once (NewEnvBase), as each spawn does.
func BenchmarkEnvBaseBuild(b *testing.B) {
	in := EnvInput{ProcessName: "web_01", GroupName: "web",
		ServerURL: "unix:///run/supervisor.sock", Program: []Var{{"PORT", "8080"}}}
	base := NewEnvBase(benchDaemonEnv())
	b.ReportAllocs()
	for b.Loop() {
		_ = base.Build(in)
	}
}
