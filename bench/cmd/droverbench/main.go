// Command droverbench measures drover and supervisord side by side on the
// same generated configs and prints one Markdown table (see bench/README.md).
//
// The same binary is also the child the supervisors run ("child", "blip",
// "produce", "serve" modes), so child start-up cost is the same for both.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	// Child modes first: they are what the supervisors spawn, and their
	// start-up cost is part of what is measured.
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "child", "blip", "produce", "flood", "serve":
			os.Exit(childMain(os.Args[1:]))
		}
	}
	os.Exit(harnessMain(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the harness's flags.
type options struct {
	Drover, Supervisord, Supervisorctl  string
	DroverBefore                        string
	JSON                                string
	Targets                             string
	Reps, Programs, StatusRuns          int
	StartupReps                         int
	ProduceBytes                        int64
	Idle, Timeout                       time.Duration
	SoakPrograms                        int
	SoakLife, SoakDuration, SoakSample  time.Duration
	Reloads, LoadKeepAlive, LoadNewConn int
	ReloadSteady, ReloadQuiet           time.Duration
	RequestTimeout                      time.Duration
	Keep                                bool
	Scale                               []int
	ScaleTimeout                        time.Duration
	ScaleStatusRuns                     int
	ScaleRedirectStderr                 bool
	FloodRate                           int64
	FloodReps                           int
}

// harness holds what every measurement needs.
type harness struct {
	opt     options
	self    string // this binary, run as the child
	tmp     string // root temp dir of this run
	sleep   string // absolute path of sleep(1)
	targets []*target
	rep     *report
	log     io.Writer
	// fleetRSS is each target's VmRSS (kB) with the fleet running, for
	// the per-program row.
	fleetRSS map[string]int64
	// execs is the kernel's exec events (procconn.go), for the rows timed
	// to a child's exec; execsErr says why there are none.
	execsOnce sync.Once
	execs     *execWatch
	execsErr  error
}

// execWatch subscribes to the kernel's exec events on first use.
func (h *harness) execWatch() (*execWatch, error) {
	h.execsOnce.Do(func() { h.execs, h.execsErr = watchExecs() })
	return h.execs, h.execsErr
}

// measurement names, in run order; groups expand to members.
var (
	allMeasurements = []string{"baseline", "respawn", "flood", "startup", "rss", "idle", "status", "rules", "scale", "lines", "rotate", "bulk", "lines_ts", "lines_json", "reload", "soak"}
	groups          = map[string][]string{
		"all":        {"baseline", "respawn", "flood", "startup", "rss", "idle", "status", "rules", "lines", "rotate", "bulk", "reload"},
		"respawn":    {"baseline", "respawn", "flood"},
		"fleet":      {"startup", "rss", "idle", "status"},
		"throughput": {"lines", "rotate", "bulk", "lines_ts", "lines_json"},
	}
)

func harnessMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("droverbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.Drover, "drover", "bin/drover", "drover binary, started as: drover run -n -c FILE")
	fs.StringVar(&o.DroverBefore, "drover-before", "", "an older drover binary: adds the target "+targetBefore+", run exactly like drover, and a drover ÷ before column")
	fs.StringVar(&o.Supervisord, "supervisord", "/usr/bin/supervisord", "supervisord binary")
	fs.StringVar(&o.Supervisorctl, "supervisorctl", "/usr/bin/supervisorctl", "supervisorctl binary")
	fs.StringVar(&o.JSON, "json", "bench/results/latest.json", "write raw results here (empty: don't)")
	fs.StringVar(&o.Targets, "targets", "drover,supervisord", "comma-separated targets to run")
	fs.IntVar(&o.Reps, "reps", 200, "respawn repetitions")
	fs.Int64Var(&o.FloodRate, "flood-rate", 60e6, "flood: bytes/s the flooding program writes beside the respawned one")
	fs.IntVar(&o.FloodReps, "flood-reps", 50, "flood: respawn repetitions under the flood, per daemon setting")
	fs.IntVar(&o.Programs, "programs", 500, "programs for startup/rss/idle/status")
	fs.IntVar(&o.StartupReps, "startup-reps", 5, "startup: starts of the fleet per target (the first also serves rss, idle and status), each after a floor run of its own; the rows are medians")
	fs.IntVar(&o.StatusRuns, "status-runs", 20, "status invocations per target")
	fs.Int64Var(&o.ProduceBytes, "produce-bytes", 256<<20, "bytes written by each throughput producer")
	fs.DurationVar(&o.Idle, "idle", 10*time.Second, "idle wake-up window")
	fs.DurationVar(&o.Timeout, "timeout", 90*time.Minute, "deadline for the whole run (a safety net: every step has its own)")
	fs.IntVar(&o.SoakPrograms, "soak-programs", 200, "soak: programs")
	fs.DurationVar(&o.SoakLife, "soak-life", 100*time.Millisecond, "soak: each child's lifetime")
	fs.DurationVar(&o.SoakDuration, "soak-duration", 2*time.Minute, "soak: duration per target")
	fs.DurationVar(&o.SoakSample, "soak-sample", 15*time.Second, "soak: RSS sampling period")
	fs.IntVar(&o.Reloads, "reloads", 5, "reload: reloads per target")
	fs.DurationVar(&o.ReloadSteady, "reload-steady", 5*time.Second, "reload: steady-state window before the first reload")
	fs.DurationVar(&o.ReloadQuiet, "reload-quiet", 1500*time.Millisecond, "reload: quiet window after each reload")
	fs.IntVar(&o.LoadKeepAlive, "load-keepalive", 8, "reload: keep-alive client connections")
	fs.IntVar(&o.LoadNewConn, "load-newconn", 8, "reload: clients opening a new connection per request")
	fs.DurationVar(&o.RequestTimeout, "request-timeout", 2*time.Second, "reload: a request without a whole answer by then counts as a timeout")
	scale := fs.String("scale", "100,1000,5000", "scale: program counts of the curve, comma-separated")
	fs.DurationVar(&o.ScaleTimeout, "scale-timeout", 5*time.Minute, "scale: deadline for one daemon to get all N programs RUNNING")
	fs.IntVar(&o.ScaleStatusRuns, "scale-status-runs", 5, "scale: status invocations per target and N")
	fs.BoolVar(&o.ScaleRedirectStderr, "scale-redirect-stderr", false, "scale: redirect_stderr=true in every program (3 fds per program instead of 5, in both daemons)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the temp dir (configs, logs) for inspection")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: droverbench [flags] [measurement or group]...")
		fmt.Fprintf(stderr, "  measurements: %s\n", strings.Join(allMeasurements, " "))
		fmt.Fprintln(stderr, "  groups: all (default: everything but soak and scale), respawn, fleet, throughput")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	// Daemons run in their own temp dirs: a relative path must not depend on that.
	if abs, err := filepath.Abs(o.Drover); err == nil {
		o.Drover = abs
	}
	if abs, err := filepath.Abs(o.DroverBefore); err == nil && o.DroverBefore != "" {
		o.DroverBefore = abs
	}
	want, err := selectMeasurements(fs.Args())
	if err == nil {
		o.Scale, err = parseScale(*scale)
	}
	if err != nil {
		fmt.Fprintln(stderr, "droverbench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()

	h, err := newHarness(ctx, o, stderr, args)
	if err != nil {
		fmt.Fprintln(stderr, "droverbench:", err)
		return 1
	}
	defer h.cleanup()
	h.run(ctx, want)
	names := make([]string, len(h.targets))
	for i, t := range h.targets {
		names[i] = t.Name
	}
	h.rep.writeMarkdown(stdout, names)
	if o.JSON != "" {
		if err := h.rep.writeJSON(o.JSON); err != nil {
			fmt.Fprintln(stderr, "droverbench:", err)
			return 1
		}
		fmt.Fprintf(stderr, "droverbench: raw results in %s\n", o.JSON)
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "droverbench: stopped early:", context.Cause(ctx))
		return 1
	}
	return 0
}

// selectMeasurements expands names and groups, keeping run order.
func selectMeasurements(args []string) (map[string]bool, error) {
	if len(args) == 0 {
		args = []string{"all"}
	}
	want := map[string]bool{}
	for _, a := range args {
		if g, ok := groups[a]; ok {
			for _, m := range g {
				want[m] = true
			}
			continue
		}
		found := false
		for _, m := range allMeasurements {
			if m == a {
				want[m], found = true, true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown measurement %q (have %s; groups all, respawn, fleet, throughput)", a, strings.Join(allMeasurements, ", "))
		}
	}
	return want, nil
}

func newHarness(ctx context.Context, o options, log io.Writer, args []string) (*harness, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("own path: %w", err)
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		return nil, fmt.Errorf("sleep(1): %w", err)
	}
	// Children of a killed daemon come back to the harness, which kills
	// and reaps them (see reapOrphans).
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("subreaper: %w", err)
	}
	if err := raiseNoFile(); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "droverbench-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	h := &harness{opt: o, self: self, tmp: tmp, sleep: sleep, log: log, fleetRSS: map[string]int64{}}
	h.rep = &report{
		Date:      time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		Nproc:     runtime.NumCPU(),
		Kernel:    kernel(),
		GoVersion: runtime.Version(),
		Args:      args,
	}
	h.rep.SupervisordVersion = firstLine(ctx, o.Supervisord, "--version")
	h.rep.DroverVersion = firstLine(ctx, o.Drover, "run", "--version")
	if rev := firstLine(ctx, "git", "describe", "--always", "--dirty"); !strings.HasPrefix(rev, "unknown") {
		h.rep.DroverVersion += " (tree " + rev + ")"
	}
	if o.DroverBefore != "" {
		h.rep.DroverBeforeVersion = firstLine(ctx, o.DroverBefore, "run", "--version") + " (" + o.DroverBefore + ")"
	}
	targets, err := h.makeTargets(ctx)
	if err != nil {
		return nil, errors.Join(os.RemoveAll(tmp), err)
	}
	h.targets = targets
	return h, nil
}

// cleanup removes the temp dir unless -keep.
func (h *harness) cleanup() {
	reapOrphans()
	if h.opt.Keep {
		fmt.Fprintf(h.log, "droverbench: kept %s\n", h.tmp)
		return
	}
	_ = os.RemoveAll(h.tmp)
}

// progress prints one line to stderr.
func (h *harness) progress(format string, a ...any) {
	fmt.Fprintf(h.log, "droverbench: "+format+"\n", a...)
}

// newDir makes a fresh directory for one daemon run.
func (h *harness) newDir(name string) (string, error) {
	d, err := os.MkdirTemp(h.tmp, name+"-")
	if err != nil {
		return "", fmt.Errorf("run dir: %w", err)
	}
	return d, nil
}

// newRun makes a fresh directory for one daemon run and listens for the
// children's notes in it. Close the notifier when done.
func (h *harness) newRun(name string) (string, *notifier, error) {
	dir, err := h.newDir(name)
	if err != nil {
		return "", nil, err
	}
	n, err := listenNotify(filepath.Join(dir, "notify.sock"))
	if err != nil {
		return "", nil, err
	}
	return dir, n, nil
}

func kernel() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}

// firstLine runs a command briefly and returns its first output line.
func firstLine(ctx context.Context, argv ...string) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	s, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if err != nil {
		return "unknown (" + shortErr(err) + ")"
	}
	return s
}

// raiseNoFile lifts the soft RLIMIT_NOFILE to 65536 for the harness and
// the daemons it starts, or to the hard limit when that is lower and
// cannot be raised (raising it needs CAP_SYS_RESOURCE): 500 programs need
// about 2,500 fds in either daemon, 5,000 about 25,000 (scale).
// syscall.Setrlimit (not x/sys) is used because it also stops Go from
// restoring the old limit in children.
func raiseNoFile() error {
	const enough = 65536
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("getrlimit: %w", err)
	}
	if lim.Max < enough && syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: enough, Max: enough}) == nil {
		return nil
	}
	want := min(lim.Max, enough)
	if lim.Cur >= want {
		return nil
	}
	lim.Cur = want
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("raise RLIMIT_NOFILE: %w", err)
	}
	return nil
}
