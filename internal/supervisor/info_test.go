package supervisor

import (
	"regexp"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

func TestUptimeFormat(t *testing.T) {
	for secs, want := range map[int64]string{
		0:              "0:00:00",
		5:              "0:00:05",
		3599:           "0:59:59",
		36000 + 61:     "10:01:01",
		86400:          "1 day, 0:00:00",
		86400 + 3723:   "1 day, 1:02:03",
		2*86400 + 59:   "2 days, 0:00:59",
		400*86400 + 60: "400 days, 0:01:00",
		-3:             "0:00:00",
	} {
		if got := uptime(secs); got != want {
			t.Errorf("uptime(%d) = %q, want %q", secs, got, want)
		}
	}
}

func TestInfoDescriptions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("new", manual), single("run"), single("dead", retries(0))), nil)
		hs.exit(hs.lastPid("dead"), 1)
		hs.sleepUntil(26*time.Hour + 5*time.Second)
		in := hs.info("new")
		if in.Description != "Not started" || in.Start != 0 || in.Stop != 0 || in.Pid != 0 || in.StateName != "STOPPED" {
			t.Fatalf("%+v", in)
		}
		in = hs.info("run")
		if in.Description != "pid "+itoa(in.Pid)+", uptime 1 day, 2:00:05" || in.Now != time.Now().Unix() {
			t.Fatalf("%+v", in)
		}
		in = hs.info("dead")
		if in.State != Fatal || in.Description != msgTooQuickly {
			t.Fatalf("%+v", in)
		}
		_ = hs.s.StopProcess(bg, "run", false)
		hs.killed(hs.lastPid("run"), syscall.SIGTERM)
		in = hs.info("run")
		want := time.Unix(in.Stop, 0).Local().Format("Jan 02 03:04 PM")
		if in.State != Stopped || in.Description != want || !regexp.MustCompile(`^[A-Z][a-z]{2} \d\d \d\d:\d\d [AP]M$`).MatchString(in.Description) {
			t.Fatalf("%+v", in)
		}
		if in.ExitStatus != -1 || in.SpawnErr != "" {
			t.Fatalf("%+v", in)
		}
		// BACKOFF/FATAL without spawnerr.
		if got := describe(Info{State: Fatal, Name: "x"}); got != `unknown error (try "tail x")` {
			t.Fatal(got)
		}
		if got := describe(Info{State: Starting}); got != "" {
			t.Fatal(got)
		}
		// Started but never exited (stopped from BACKOFF): supervisord
		// formats the epoch, in local time.
		if got, want := describe(Info{State: Stopped, Start: 5}), time.Unix(0, 0).Local().Format("Jan 02 03:04 PM"); got != want {
			t.Fatal(got, want)
		}
	})
}

func TestDecodeStatus(t *testing.T) {
	for ws, want := range map[syscall.WaitStatus]string{
		0:                                   "exit status 0",
		3 << 8:                              "exit status 3",
		syscall.WaitStatus(syscall.SIGTERM): "terminated by SIGTERM",
		syscall.WaitStatus(syscall.SIGSEGV | 0x80): "terminated by SIGSEGV (core dumped)",
	} {
		if _, got := decodeStatus(ws); got != want {
			t.Errorf("decodeStatus(%#x) = %q, want %q", uint32(ws), got, want)
		}
	}
}
