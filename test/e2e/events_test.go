//go:build e2e

package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/drover-sh/drover/internal/testenv"
)

// eventsConfig runs testdata/listener.py (supervisor.childutils) as an
// [eventlistener:watch] whose stderr goes to the daemon's stdout, so the
// events it got show in the daemon's output, plus programs that make every
// kind of event but ticks (their timing is the clock's).
func eventsConfig(t *testing.T) config {
	script, err := filepath.Abs(filepath.Join("testdata", "listener.py"))
	if err != nil {
		t.Fatal(err)
	}
	return config{Bare: true, Raw: fmt.Sprintf(`
[eventlistener:watch]
command=%s %s
events=PROCESS_STATE,PROCESS_GROUP,SUPERVISOR_STATE_CHANGE,REMOTE_COMMUNICATION,PROCESS_COMMUNICATION,PROCESS_LOG
buffer_size=100
stderr_logfile=/dev/stdout
stderr_logfile_maxbytes=0

[program:sleeper]
command=%s
startsecs=0

[program:quick]
command=sh -c "exit 3"
startretries=0

[program:capture]
command=%s
startsecs=0
stdout_capture_maxbytes=1KB

[program:logger]
command=%s
startsecs=0
stdout_events_enabled=true
`, systemPython, script, childCmd("sleep"), childCmd("capture"), childCmd("logline"))}
}

// systemPython is Debian's python3, which has the supervisor package's
// modules (a python3 earlier in PATH may not).
const systemPython = "/usr/bin/python3"

var eventLine = regexp.MustCompile(`EVENT (\d+) (\d+) (\S+) (.*)$`)

// delivery is one event as the listener printed it.
type delivery struct {
	serial, poolSerial int
	name, payload      string // payload with pids as N
}

// lineAfter is the index just past the first output line matching re.
func (d *daemon) lineAfter(re *regexp.Regexp) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, l := range d.lines {
		if re.MatchString(l) {
			return i + 1
		}
	}
	return len(d.lines)
}

func (d *daemon) deliveries() []delivery {
	var out []delivery
	pid := regexp.MustCompile(`pid:\d+`)
	for _, l := range strings.Split(d.output(), "\n") {
		m := eventLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		s, _ := strconv.Atoi(m[1])
		ps, _ := strconv.Atoi(m[2])
		out = append(out, delivery{s, ps, m[3], pid.ReplaceAllString(m[4], "pid:N")})
	}
	return out
}

// TestE2EEventListener runs the same listener under both daemons and
// compares what it received: the same events with the same payloads, the
// same order for each process, serials counted the same way, and a
// rejected event delivered again with its serial.
func TestE2EEventListener(t *testing.T) {
	needPeers(t)
	if err := exec.Command(systemPython, "-c", "import supervisor.childutils").Run(); err != nil {
		testenv.MissingPeer(t, "%s cannot import supervisor.childutils (apt-get install supervisor): %v", systemPython, err)
	}
	testenv.NeedFile(t, "/bin/sh", "apt-get install dash")
	t.Parallel()
	sup := startDaemon(t, "supervisord", eventsConfig(t))
	drv := startDaemon(t, "drover", eventsConfig(t))
	p := &pair{t: t, sup: sup, drv: drv}
	settled := []string{
		`EVENT \d+ \d+ PROCESS_STATE_FATAL processname:quick`,
		`EVENT \d+ \d+ PROCESS_STATE_RUNNING processname:sleeper`,
		`EVENT \d+ \d+ PROCESS_COMMUNICATION_STDOUT processname:capture`,
		`EVENT \d+ \d+ PROCESS_LOG_STDOUT processname:logger`,
	}
	sup.waitLog(0, settled...)
	drv.waitLog(0, settled...)

	// A listener pool is a group like any other to supervisorctl.
	p.check("status")
	p.check("avail")
	p.check("status", "watch:*")
	p.check("stop", "sleeper")
	p.check("start", "sleeper")
	call := `<?xml version="1.0"?><methodCall><methodName>supervisor.sendRemoteCommEvent</methodName>` +
		`<params><param><value><string>mytype</string></value></param>` +
		`<param><value><string>reject-once é</string></value></param></params></methodCall>`
	s, d := both(p, func(x *daemon) string { return x.httpAnswer("POST", "/RPC2", call) })
	p.compare("sendRemoteCommEvent", s, d)
	remote := `EVENT \d+ \d+ REMOTE_COMMUNICATION type:mytype\\nreject-once é`
	both(p, func(x *daemon) int {
		x.waitLog(0, `EVENT \d+ \d+ PROCESS_STATE_RUNNING processname:sleeper groupname:sleeper from_state:STARTING`)
		x.waitLog(0, remote)
		x.waitLog(x.lineAfter(regexp.MustCompile(remote)), remote) // twice: FAIL, then delivered again
		return 0
	})

	sd, dd := sup.deliveries(), drv.deliveries()
	// Everything delivered, as a set: timing decides how processes interleave.
	key := func(ds []delivery) []string {
		out := make([]string, len(ds))
		for i, x := range ds {
			out[i] = x.name + " " + x.payload
		}
		slices.Sort(out)
		return out
	}
	p.compare("events received", strings.Join(key(sd), "\n"), strings.Join(key(dd), "\n"))
	// Each process's state events come in the same order. (When output
	// events come among them is timing: with startsecs=0 a child's first
	// write may be read before or after it counts as RUNNING.)
	proc := regexp.MustCompile(`processname:(\S+)`)
	perProc := func(ds []delivery) string {
		by := map[string][]string{}
		var names []string
		for _, x := range ds {
			if m := proc.FindStringSubmatch(x.payload); m != nil && strings.HasPrefix(x.name, "PROCESS_STATE_") {
				if by[m[1]] == nil {
					names = append(names, m[1])
				}
				by[m[1]] = append(by[m[1]], x.name)
			}
		}
		slices.Sort(names)
		var b strings.Builder
		for _, n := range names {
			fmt.Fprintf(&b, "%s: %s\n", n, strings.Join(by[n], " "))
		}
		return b.String()
	}
	p.compare("state events per process, in order", perProc(sd), perProc(dd))
	// Serials: 0, 1, 2, ... in delivery order, the rejected event's twice;
	// one pool, so the pool serial is the serial.
	serials := func(ds []delivery) string {
		next, again := 0, 0
		for _, x := range ds {
			switch {
			case x.poolSerial != x.serial:
				return fmt.Sprintf("poolserial %d for serial %d", x.poolSerial, x.serial)
			case x.serial == next:
				next++
			case x.serial == next-1 && x.name == "REMOTE_COMMUNICATION":
				again++
			default:
				return fmt.Sprintf("serial %d where %d was due", x.serial, next)
			}
		}
		return fmt.Sprintf("%d events numbered in order, %d delivered again", next, again)
	}
	p.compare("serials", serials(sd), serials(dd))
	t.Logf("supervisord: %s; drover: %s", serials(sd), serials(dd))
	t.Logf("%d steps matched", len(p.matched))
}
