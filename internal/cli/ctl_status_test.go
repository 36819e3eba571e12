package cli

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/rpc"
)

// TestStatusShowsHandoff holds a blue/green hand-off open (the old
// generation ignores its graceful signal) and checks that `drover status`
// shows both generations, text and --json, while `drover ctl status`
// keeps supervisorctl's lines (and matches the real supervisorctl).
func TestStatusShowsHandoff(t *testing.T) {
	t.Parallel()
	web := program("web", "nousr1", "reload = bluegreen", "sockets = tcp://"+closedPort(t),
		"graceful_stop_signal = USR1", "graceful_timeout = 60")
	d := startDaemon(t, "", web+program("other", "sleep"), "web", "other")
	d.waitLog("web", "stdout", "ignoring SIGUSR1\n")
	from := d.mark()
	cl, err := rpc.NewClientAuth("unix://"+d.sock, rpc.ClientAuth{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	in, err := cl.Call(ctx, "supervisor.getProcessInfo", "web")
	if err != nil {
		t.Fatal(err)
	}
	old := strconv.Itoa(in.(map[string]any)["pid"].(int))
	reloaded := make(chan error, 1)
	go func() {
		_, err := cl.Call(ctx, "drover.reloadProcess", "web")
		reloaded <- err
	}()
	line := d.waitLine(from, `handing off 'web': pid \d+ is ready`)
	next := regexp.MustCompile(`pid (\d+) is ready`).FindStringSubmatch(line)[1]

	bin := droverBinary(t)
	r := binRun(t, "", bin, "status", "-c", d.conf)
	expect(t, r, 0, `(?m)^web +RUNNING +pid `+next+`, uptime \d+:\d\d:\d\d, generation \d+, handing off with pid `+old+`$`)
	expect(t, r, 0, `(?m)^other +RUNNING +pid \d+, uptime \d+:\d\d:\d\d$`)

	r = binRun(t, "", bin, "status", "--json", "-c", d.conf, "web")
	var infos []map[string]any
	if err := json.Unmarshal([]byte(r.out), &infos); err != nil || len(infos) != 1 {
		t.Fatalf("status --json: %v\n%s", err, r.out)
	}
	if got := infos[0]; jsonInt(got["pid"]) != next || jsonInt(got["handoff_pid"]) != old ||
		got["reloading"] != "bluegreen" || jsonInt(got["generation"]) == "0" {
		t.Errorf("status --json during the hand-off: %v", got)
	}

	// supervisorctl's command line prints supervisorctl's lines.
	r = binRun(t, "", bin, "ctl", "-c", d.conf, "status")
	expect(t, r, 0, `(?m)^web +RUNNING +pid `+next+`, uptime \d+:\d\d:\d\d$`)
	if strings.Contains(r.out, "handing off") {
		t.Errorf("drover ctl status shows drover's hand-off:\n%s", r.out)
	}
	if _, err := os.Stat(realSupervisorctl); err == nil {
		compareWithSupervisorctl(t, d, [][]string{{"status"}})
	}

	select {
	case err := <-reloaded:
		t.Fatalf("the reload ended while the old generation still ran: %v", err)
	default:
	}
}

// jsonInt renders a JSON number as an int's text.
func jsonInt(v any) string {
	f, _ := v.(float64)
	return strconv.Itoa(int(f))
}

// TestStatusUsage: `drover status --usage` adds CPU and RSS columns
// (seconds on the first sample, a percent on the next within a minute),
// --json carries the fields, and without either (not a terminal) the
// lines are supervisorctl's.
func TestStatusUsage(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, "", program("other", "sleep")+program("idle", "sleep", "autostart = false"), "other")
	bin := droverBinary(t)
	r := binRun(t, "", bin, "status", "--usage", "-c", d.conf)
	expect(t, r, 3, `(?m)^other +RUNNING +\d+\.\d(s|%) +\d+(\.\d)?[KMG] +pid \d+, uptime \d+:\d\d:\d\d$`)
	expect(t, r, 3, `(?m)^idle +STOPPED {2,}Not started$`)
	r = binRun(t, "", bin, "status", "--usage", "-c", d.conf, "other")
	expect(t, r, 0, `(?m)^other +RUNNING +\d+\.\d% +\d+(\.\d)?[KMG] +pid \d+`)
	r = binRun(t, "", bin, "status", "-c", d.conf, "other")
	expect(t, r, 0, `(?m)^other +RUNNING   pid \d+, uptime \d+:\d\d:\d\d$`)
	r = binRun(t, "", bin, "status", "--json", "-c", d.conf)
	var infos []map[string]any
	if err := json.Unmarshal([]byte(r.out), &infos); err != nil || len(infos) != 2 {
		t.Fatalf("status --json: %v\n%s", err, r.out)
	}
	for _, in := range infos {
		rss, _ := in["rss_bytes"].(float64)
		running := in["name"] == "other"
		// The earlier calls sampled within the minute: a percent is known.
		if running && (rss <= 0 || in["cpu_percent"] == nil) || !running && rss != 0 {
			t.Errorf("status --json: %v", in)
		}
	}
}
