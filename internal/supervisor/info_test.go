package supervisor

import (
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// The snapshot holds what rpc.Description words: Start, Stop, Now, Pid,
// State and SpawnErr, through real transitions.
func TestInfoFields(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newHarness(t, cfgOf(single("new", manual), single("run"), single("dead", retries(0))), nil)
		hs.exit(hs.lastPid("dead"), 1)
		hs.sleepUntil(26*time.Hour + 5*time.Second)
		in := hs.info("new")
		if in.Start != 0 || in.Stop != 0 || in.Pid != 0 || in.State != Stopped || in.StateName != "STOPPED" {
			t.Fatalf("%+v", in)
		}
		in = hs.info("run")
		if in.Pid == 0 || in.Now != time.Now().Unix() || in.Now-in.Start != 26*3600+5 || in.StateName != "RUNNING" {
			t.Fatalf("%+v", in)
		}
		in = hs.info("dead")
		if in.State != Fatal || in.SpawnErr != msgTooQuickly || in.Pid != 0 {
			t.Fatalf("%+v", in)
		}
		_ = hs.s.StopProcess(bg, "run", false)
		hs.killed(hs.lastPid("run"), syscall.SIGTERM)
		in = hs.info("run")
		if in.State != Stopped || in.Stop != time.Now().Unix() || in.Start == 0 || in.Pid != 0 {
			t.Fatalf("%+v", in)
		}
		if in.ExitStatus != -1 || in.SpawnErr != "" {
			t.Fatalf("%+v", in)
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
