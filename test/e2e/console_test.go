//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/drover-sh/drover/internal/rpc"
	"github.com/drover-sh/drover/internal/testenv"
)

// browser starts a headless Debian chromium (no sandbox: CI runs as
// root) whose every request carries the e2e inet listener's Basic
// credentials, and returns its tab's context.
func browser(t *testing.T) context.Context {
	t.Helper()
	bin := testenv.LookPath(t, "chromium", "apt-get install chromium")
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.WindowSize(1280, 800), chromedp.UserDataDir(t.TempDir()))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("user:secret"))
	// The first Run starts the browser: no deadline on it (it would end the
	// browser too).
	if err := chromedp.Do(ctx, command(network.Enable, network.EnableParams{}),
		command(network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": auth}})); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// command is one DevTools protocol command as a step.
func command[P, R any](c cdp.Command[P, R], params P) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, c, params)
		return err
	})
}

// scheme makes the page see prefers-color-scheme: value.
func scheme(value string) chromedp.Action[chromedp.Void] {
	return command(emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: value}}})
}

// steps runs browser steps with a deadline.
func steps(t *testing.T, ctx context.Context, what string, s ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, s...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates script in the page (awaiting it when it is a promise),
// with a deadline.
func eval[T any](t *testing.T, ctx context.Context, what, script string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](script, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// untilRow is a promise, resolved when the row of spec satisfies cond (a
// JS expression over tr): a MutationObserver, so nothing polls.
func untilRow(spec, cond string) string {
	return fmt.Sprintf(`new Promise((resolve) => {
	const tr = () => document.querySelector('tr.program[data-spec=%q]');
	const ok = () => { const r = tr(); return r && (%s); };
	if (ok()) { resolve(true); return; }
	const o = new MutationObserver(() => { if (ok()) { o.disconnect(); resolve(true); } });
	o.observe(document.getElementById('programs'), {subtree: true, childList: true, characterData: true});
})`, spec, cond)
}

// pageRows are the page's rows as "name STATE" in `drover status`'s
// naming (a program alone in its group by its name).
const pageRows = `Array.from(document.querySelectorAll('tr.program')).map((tr) => {
	const [g, n] = tr.dataset.spec.split(':');
	return (g === n ? n : g + ':' + n) + ' ' + tr.querySelector('td.state').textContent.trim();
})`

// TestE2EConsole opens the console in chromium: it lists every program
// with its state as `drover status` does, a Stop button changes the row
// in place (no page load), a POST without the CSRF token is refused, and
// screenshots in light and dark are taken ($DROVER_CONSOLE_SHOTS names a
// directory to keep them in, e.g. docs/).
func TestE2EConsole(t *testing.T) {
	ctx := browser(t)
	port := freePort(t)
	d := startDaemon(t, "drover", config{InetPort: port,
		Raw: "\n[program:echo]\ncommand=" + childCmd("echo") + "\nstartsecs=0\n"})
	d.waitLog(0, append(slices.Clone(startupLines), `success: echo entered RUNNING`)...)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	steps(t, ctx, "open the console", chromedp.Navigate(base+"/"), chromedp.WaitReady(chromedp.CSS("#programs")))
	rows := eval[[]string](t, ctx, "read the rows", pageRows)
	var want []string
	for _, line := range strings.Split(strings.TrimSpace(d.droverCtl("status").Stdout), "\n") {
		if f := strings.Fields(line); len(f) >= 2 {
			want = append(want, f[0]+" "+f[1])
		}
	}
	slices.Sort(rows)
	slices.Sort(want)
	if len(want) != 8 || !slices.Equal(rows, want) {
		t.Fatalf("the page lists %q, drover status %q", rows, want)
	}

	// CPU and RSS of a running program's process tree.
	use := eval[[]string](t, ctx, "usage columns", `['td.cpu', 'td.rss'].map((c) =>
		document.querySelector('tr.program[data-spec="g:ga"] '+c).textContent)`)
	if len(use) != 2 || !regexp.MustCompile(`^\d+\.\d(%|s)$`).MatchString(use[0]) || !regexp.MustCompile(`^\d+(\.\d)?[KMG]$`).MatchString(use[1]) {
		t.Errorf("g:ga's CPU and RSS: %q", use)
	}

	// Stop from the page: the row changes, the page is the same document.
	eval[int](t, ctx, "mark the document", `window.e2eMark = 1`)
	steps(t, ctx, "stop sleeper from the page", chromedp.Click(chromedp.CSS(`button[aria-label="Stop sleeper:sleeper"]`)))
	eval[bool](t, ctx, "wait for the row to say STOPPED", untilRow("sleeper:sleeper",
		`r.querySelector('td.state').textContent === 'STOPPED' && r.querySelector('td.pid').textContent === ''`))
	if !eval[bool](t, ctx, "the same document", `window.e2eMark === 1`) {
		t.Fatal("the page was loaded again")
	}
	if st := d.droverCtl("status", "sleeper").Stdout; !strings.Contains(st, "STOPPED") {
		t.Fatalf("the daemon says %q", st)
	}

	// The log follows: what echo writes after the panel opened shows in it.
	steps(t, ctx, "open echo's log", chromedp.Click(chromedp.CSS(`a[aria-label="Follow the log of echo:echo"]`)))
	c, err := rpc.NewClientAuth(base, rpc.ClientAuth{Username: "user", Password: "secret", Calls: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if _, err := c.Call(cctx, "supervisor.sendProcessStdin", "echo", "line for the console\n"); err != nil {
		t.Fatal(err)
	}
	eval[bool](t, ctx, "wait for the line in the log panel", `new Promise((resolve) => {
	const pre = document.getElementById('log-text');
	const ok = () => !document.getElementById('log').hidden && pre.textContent.includes('line for the console');
	if (ok()) { resolve(true); return; }
	new MutationObserver(() => { if (ok()) resolve(true); }).observe(pre, {subtree: true, childList: true, characterData: true});
})`)

	// A POST without the token, from the page's own origin: 403, nothing
	// stopped.
	status := eval[int](t, ctx, "POST without the token", `fetch('/console/action', {method: 'POST',
		body: new URLSearchParams({action: 'stop', name: 'g:ga'})}).then((r) => r.status)`)
	if status != 403 {
		t.Fatalf("POST without the CSRF token: %d, want 403", status)
	}
	if st := d.droverCtl("status", "g:ga").Stdout; !strings.Contains(st, "RUNNING") {
		t.Fatalf("g:ga after a refused POST: %q", st)
	}

	// Screenshots, light and dark, after the stop (the activity list has
	// its events).
	shots := os.Getenv("DROVER_CONSOLE_SHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	var bg [2]string
	for i, cs := range []string{"light", "dark"} {
		steps(t, ctx, "prefer "+cs, scheme(cs))
		bg[i] = eval[string](t, ctx, "background", `getComputedStyle(document.body).backgroundColor`)
		sctx, cancel := context.WithTimeout(ctx, waitTimeout)
		png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
		cancel()
		if err != nil || len(png) < 1000 {
			t.Fatalf("screenshot %s: %d bytes, %v", cs, len(png), err)
		}
		if err := os.WriteFile(filepath.Join(shots, "console-"+cs+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if bg[0] == bg[1] {
		t.Errorf("light and dark share the background %s", bg[0])
	}
}

// TestE2EConsoleReload runs `drover reload web` from the CLI, under load,
// on the plain-go server (sockets=, blue/green) while the console is open:
// the page shows the reload's progress (the hand-off between the two
// generations) as the events arrive, then the new generation alone; the
// load sees no failure and no stall.
func TestE2EConsoleReload(t *testing.T) {
	ctx := browser(t)
	var srv zdServer
	for _, s := range zdServers {
		if s.name == "plain-go" {
			srv = s
		}
	}
	port, inet := freePort(t), freePort(t)
	_, section := srv.setup(t, "drover", port)
	d := startDaemon(t, "drover", config{Bare: true, InetPort: inet, Raw: section})
	d.waitLog(0, `success: web entered RUNNING`)
	l, res := zdStartLoad(t, "drover", fmt.Sprintf("http://127.0.0.1:%d", port), 1)

	base := fmt.Sprintf("http://127.0.0.1:%d", inet)
	// Every text the row's generation cell shows is recorded as it appears.
	steps(t, ctx, "open the console", chromedp.Navigate(base+"/"), chromedp.WaitReady(chromedp.CSS("#programs")))
	gen0 := eval[string](t, ctx, "wait for the event stream", `new Promise((resolve) => {
	window.e2eSeen = [];
	const cell = () => document.querySelector('tr.program[data-spec="web:web"] td.gen');
	const note = () => { const t = cell().textContent; if (window.e2eSeen.at(-1) !== t) window.e2eSeen.push(t); };
	new MutationObserver(note).observe(document.getElementById('programs'), {subtree: true, childList: true, characterData: true});
	note();
	// Live once the event stream is open.
	const table = document.getElementById('programs');
	if (table.dataset.live === '1') resolve(cell().textContent);
	new MutationObserver(() => { if (table.dataset.live === '1') resolve(cell().textContent); })
		.observe(table, {attributes: true, attributeFilter: ['data-live']});
})`)

	steadyFrom := time.Now()
	if err := l.waitFast(steadyFrom, 50, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	opFrom := time.Now()
	r := d.droverCtl("reload", "web")
	opTo := time.Now()
	if r.Code != 0 {
		t.Fatalf("drover reload web: %s%s", r.Stdout, r.Stderr)
	}
	next, err := l.waitNewTag(res.tags, 5, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	eval[bool](t, ctx, "wait for the page to show the new generation alone",
		untilRow("web:web", `/^\d+$/.test(r.querySelector('td.gen').textContent) && r.querySelector('td.gen').textContent !== `+
			fmt.Sprintf("%q", gen0)))
	seen := eval[[]string](t, ctx, "generations seen", `window.e2eSeen`)
	activity := eval[[]string](t, ctx, "activity", `Array.from(document.querySelectorAll('#events li')).map((li) => li.textContent)`)
	// The row went through the reload's steps as they happened: the new
	// generation spawned, ready, then the old one handing off.
	for _, step := range []string{"spawned", "ready", "handing off: old pid"} {
		if !slices.ContainsFunc(seen, func(s string) bool { return strings.Contains(s, step) }) {
			t.Errorf("the page never showed %q: the generation cell went %q", step, seen)
		}
	}
	// The activity list has the reload's events in order.
	var phases []string
	for _, a := range activity {
		if _, after, ok := strings.Cut(a, "reload web: "); ok {
			phases = append(phases, strings.Fields(after)[0])
		}
	}
	if want := []string{"STARTED", "SPAWNED", "READY", "RETIRING", "RETIRED", "DONE"}; !slices.Equal(phases, want) {
		t.Errorf("reload steps listed %q, want %q; activity:\n%s", phases, want, strings.Join(activity, "\n"))
	}
	stall := l.checkStall(t, "reload with the console open", steadyFrom, opFrom, opTo)
	rep := l.report()
	zdReportf(t, "console open during `drover reload web` under load: generation cell %q; %d events listed; new tag %s; %s; %s",
		seen, len(activity), next, stall, rep)
	if rep.Failed != 0 {
		t.Errorf("%d requests failed: %v", rep.Failed, rep.Examples)
	}
}
