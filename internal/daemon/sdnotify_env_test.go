package daemon

import (
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestWatchdogIntervalAsSystemdAsks(t *testing.T) {
	for _, c := range []struct {
		usec, pid string
		want      time.Duration
	}{
		{"", "", 0},
		{"0", "", 0},
		{"junk", "", 0},
		{"2000000", "", time.Second},
		{"2000000", strconv.Itoa(os.Getpid()), time.Second},
		{"2000000", strconv.Itoa(os.Getpid() + 1), 0}, // meant for another process
	} {
		t.Setenv("WATCHDOG_USEC", c.usec)
		t.Setenv("WATCHDOG_PID", c.pid)
		if got := watchdogInterval(); got != c.want {
			t.Errorf("WATCHDOG_USEC=%q WATCHDOG_PID=%q: %v, want %v", c.usec, c.pid, got, c.want)
		}
	}
}

func TestChildEnvironDropsSystemdVariables(t *testing.T) {
	got := childEnviron([]string{"PATH=/bin", "NOTIFY_SOCKET=/run/systemd/notify", "WATCHDOG_USEC=1", "WATCHDOG_PID=7", "NOTIFY_SOCKETX=keep"})
	if want := []string{"PATH=/bin", "NOTIFY_SOCKETX=keep"}; !slices.Equal(got, want) {
		t.Errorf("childEnviron: %q, want %q", got, want)
	}
}
