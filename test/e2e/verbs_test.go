//go:build e2e

package e2e

import (
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestE2ESupervisorctlVerbs runs the real supervisorctl through the
// process verbs of issue 5 (status, start, stop, restart, signal, tail,
// maintail, pid, clear, avail, version) against supervisord and drover,
// started on copies of the same config, and compares stdout, stderr and
// exit codes step by step. TestE2ESupervisorctlConfigVerbs has the rest.
func TestE2ESupervisorctlVerbs(t *testing.T) {
	needPeers(t)
	t.Parallel()
	sup, drv := startPair(t, config{}, config{})
	p := &pair{t: t, sup: sup, drv: drv}

	// status
	p.check("status")
	p.check("status", "sleeper", "talker")
	p.check("status", "g:*")
	p.check("status", "g:ga")
	p.check("status", "nope")
	p.check("status", "sleeper", "nope")
	p.check("status", "all")
	p.check("status", "g:nope")

	// start
	p.check("start", "manual")
	p.check("start", "manual") // already started
	p.check("start", "nope")
	p.check("start", "missing") // no such file
	p.check("start", "quick")   // spawn error
	p.check("start", "g:*")     // both already started
	p.check("start", "g:nope")
	p.check("start")
	p.check("status")

	// stop
	p.check("stop", "manual")
	p.check("stop", "manual") // not running
	p.check("stop", "nope")
	p.check("stop", "g:*")
	p.check("stop", "g:*")
	p.check("start", "g:*")
	p.check("stop")

	// restart
	p.check("restart", "sleeper")
	p.check("restart", "g:*")
	p.check("restart", "nope")
	p.check("restart", "manual") // not running, then started
	p.check("restart", "quick")  // not running, then spawn error
	p.check("restart")
	p.check("stop", "all")
	p.check("status")
	p.check("start", "all")
	p.check("status")
	p.check("restart", "all")
	p.check("stop", "manual")

	// signal
	p.check("signal", "WINCH", "sleeper")
	p.check("signal", "WINCH", "g:*")
	p.check("signal", "WINCH", "all")
	p.check("signal", "WINCH", "manual") // not running
	p.check("signal", "WINCH", "nope")
	p.check("signal", "BOGUS", "sleeper")
	p.check("signal", "28", "sleeper")
	p.check("signal", "WINCH")
	p.check("signal")
	p.check("status")

	// tail, tail -f, maintail
	p.check("tail", "talker")
	p.check("tail", "talker", "stderr")
	p.check("tail", "-10", "talker", "stderr")
	p.check("tail", "-14", "talker")
	p.check("tail", "sleeper")
	p.check("tail", "nope")
	p.check("tail", "talker", "bogus")
	p.check("tail", "g:*")
	p.check("tail")
	p.checkFollow(3, "tail", "-f", "talker")
	p.checkFollow(2, "tail", "-f", "talker", "stderr")
	p.checkFollow(2, "tail", "-f", "nope")
	p.checkFollow(2, "tail", "-f", "g:*")
	p.checkFollow(2, "tail", "-f", "talker", "bogus")
	s, d := both(p, func(x *daemon) result { return x.ctl("maintail", "-100000") })
	compareMainlog(p, s, d)
	p.check("maintail", "bogus")

	// pid
	p.check("pid")
	p.check("pid", "sleeper")
	p.check("pid", "manual")
	p.check("pid", "all")
	p.check("pid", "nope")
	p.check("pid", "g:*")

	// clear
	p.check("clear", "talker")
	p.check("tail", "-1600", "talker") // now empty
	p.check("clear", "nope")
	p.check("clear", "all")
	p.check("clear")

	// avail, version
	p.check("avail")
	p.check("version")
	p.check("version", "x")

	t.Logf("%d steps matched: %s", len(p.matched), strings.Join(p.matched, " | "))
}

// mainlogOnlySupervisord matches main log records that only one daemon
// writes (README.md, "Main log"): supervisord's, and drover's audit lines;
// they are left out of the comparison.
var mainlogOnlySupervisord = regexp.MustCompile(strings.Join([]string{
	`^TIMESTAMP INFO RPC interface 'supervisor' initialized$`,
	`^TIMESTAMP CRIT Server 'unix_http_server' running without any HTTP authentication checking$`,
	// The HTTP 500 of "tail talker" (invalid UTF-8), with its traceback.
	`^TIMESTAMP CRIT Handling XML-RPC request with data .* raised an unexpected exception`,
	// Logged on the first main-loop pass after a stop; drover waits 2 s.
	`^TIMESTAMP INFO waiting for \S+ to stop$`,
	// drover's own: the audit line of every change over the API
	// (docs/access.md#audit).
	`^TIMESTAMP INFO audit: `,
}, "|"))

// compareMainlog compares the main logs read through maintail as sets of
// records: the two daemons spawn concurrently, in different orders.
func compareMainlog(p *pair, s, d result) {
	p.t.Helper()
	set := func(r result) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(r.Stdout, "\n") {
			// Continuation lines (tracebacks) belong to the record above.
			if strings.HasPrefix(l, "TIMESTAMP ") && !mainlogOnlySupervisord.MatchString(l) {
				m[l] = true
			}
		}
		return m
	}
	p.compare("maintail exit code", s.Code, d.Code)
	ss, ds := set(s), set(d)
	var onlyS, onlyD []string
	for l := range ss {
		if !ds[l] {
			onlyS = append(onlyS, l)
		}
	}
	for l := range ds {
		if !ss[l] {
			onlyD = append(onlyD, l)
		}
	}
	sort.Strings(onlyS)
	sort.Strings(onlyD)
	p.compare("maintail (records only in one log)", strings.Join(onlyS, "\n"), strings.Join(onlyD, "\n"))
}
