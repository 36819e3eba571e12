package rpc

import (
	"context"
	"encoding/json"
	"html"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/drover-sh/drover/internal/httpwire"
	"github.com/drover-sh/drover/internal/supervisor"
)

// consoleRow is one program as the console shows it (the page and
// /console/rows alike). CPU and RSS are empty when the program is not
// running or the Backend cannot sample.
type consoleRow struct {
	Group       string `json:"group"`
	Name        string `json:"name"`
	Spec        string `json:"spec"`
	State       string `json:"state"`
	PID         int    `json:"pid"`
	Start       int64  `json:"start"` // unix seconds while running, 0 otherwise
	Uptime      string `json:"uptime"`
	Description string `json:"description"`
	Generation  uint64 `json:"generation"`
	HandoffPID  int    `json:"handoff_pid"`
	Reloading   string `json:"reloading"`
	Strategy    string `json:"strategy"`
	CPU         string `json:"cpu"`
	RSS         string `json:"rss"`
}

// consoleView is what the console shows a caller.
type consoleView struct {
	Now      int64        `json:"now"`
	ReadOnly bool         `json:"read_only"`
	Rows     []consoleRow `json:"rows"`
}

// consoleView reads every process ctx's caller may read, checked as
// drover.getAllProcessInfo is.
func (h *httpHandler) consoleView(ctx context.Context) (consoleView, error) {
	if _, err := h.s.d.check(ctx, "drover.getAllProcessInfo", nil); err != nil {
		return consoleView{}, err
	}
	all, err := h.s.opts.Backend.AllProcessInfo(ctx)
	if err != nil {
		return consoleView{}, err
	}
	all = visibleInfos(ctx, all)
	sortInfos(all)
	now := h.s.opts.Now()
	v := consoleView{Now: now.Unix(), ReadOnly: grantFrom(ctx).readOnly, Rows: make([]consoleRow, 0, len(all))}
	for _, pi := range all {
		row := consoleRow{
			Group: pi.Group, Name: pi.Name, Spec: pi.Group + ":" + pi.Name, State: pi.State.String(),
			PID: pi.PID, Generation: pi.Generation, HandoffPID: pi.HandoffPID, Reloading: pi.Reloading,
			Strategy:    pi.Strategy,
			Description: string(appendDescription(nil, pi, now, func(b []byte, s string) []byte { return append(b, s...) })),
		}
		if pi.State == supervisor.Running || pi.State == supervisor.Stopping {
			row.Start = epoch(pi.Start)
			row.Uptime = string(appendUptime(nil, max(now.Unix()-row.Start, 0)))
		}
		v.Rows = append(v.Rows, row)
	}
	h.addConsoleUsage(ctx, v.Rows)
	return v, nil
}

// addConsoleUsage fills the CPU and RSS of the running programs of rows,
// sampled now (a page or an event asked: nothing samples otherwise), when
// the Backend can sample.
func (h *httpHandler) addConsoleUsage(ctx context.Context, rows []consoleRow) {
	ub, ok := h.s.opts.Backend.(UsageBackend)
	if !ok {
		return
	}
	st, err := ub.ProcessStats(ctx)
	if err != nil {
		return
	}
	st = visible(ctx, st, func(x supervisor.Stats) (string, string) { return x.Group, x.Name })
	us := ub.SampleUsage(st)
	by := make(map[string]supervisor.Usage, len(us))
	for i := range us {
		if i < len(st) && us[i].Procs > 0 {
			by[st[i].Group+":"+st[i].Name] = us[i]
		}
	}
	for i := range rows {
		u, ok := by[rows[i].Spec]
		if !ok {
			continue
		}
		if u.CPUPercent >= 0 {
			rows[i].CPU = strconv.FormatFloat(u.CPUPercent, 'f', 1, 64) + "%"
		} else {
			// No earlier sample to compare with: the CPU time so far.
			rows[i].CPU = strconv.FormatFloat(u.CPU.Seconds(), 'f', 1, 64) + "s"
		}
		rows[i].RSS = humanBytes(u.RSS)
	}
}

// humanBytes is a size as a person reads ps's: 812K, 45.3M, 1.2G.
func humanBytes(n int64) string {
	kb := float64(n) / 1024
	switch {
	case kb < 1024:
		return strconv.FormatFloat(kb, 'f', 0, 64) + "K"
	case kb < 1024*1024:
		return strconv.FormatFloat(kb/1024, 'f', 1, 64) + "M"
	}
	return strconv.FormatFloat(kb/(1024*1024), 'f', 1, 64) + "G"
}

func (h *httpHandler) consoleRows(w *httpwire.ResponseWriter, r *httpwire.Request) {
	v, err := h.consoleView(r.Context())
	if err != nil {
		w.Error(403, "403 Forbidden: "+ToFault(err).Error())
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		w.Error(500, "500 Internal Server Error")
		return
	}
	w.Header.Set("Content-Type", "application/json")
	_ = w.Reply(200, b)
}

// consoleColumns are the table's columns after the program's name.
var consoleColumns = []string{"State", "PID", "Uptime", "CPU", "RSS", "Generation", "Description", "Actions"}

func (h *httpHandler) consolePage(w *httpwire.ResponseWriter, r *httpwire.Request) {
	v, err := h.consoleView(r.Context())
	if err != nil {
		w.Error(403, "403 Forbidden: "+ToFault(err).Error())
		return
	}
	id, fresh := consoleSession(r)
	if fresh {
		// HttpOnly: scripts read the token from the page, never the id.
		w.Header.Set("Set-Cookie", consoleCookie+"="+id+"; Path=/; HttpOnly; SameSite=Strict")
	}
	token := h.s.consoleToken(id, grantFrom(r.Context()))
	w.Header.Set("Content-Type", "text/html; charset=utf-8")
	_ = w.Reply(200, []byte(renderConsole(v, h.s.opts.Backend.Identification(), token)))
}

// esc escapes text for HTML element content and quoted attributes.
var esc = html.EscapeString

// renderConsole writes the page: complete without JavaScript (the table
// and the action forms), which console.js then keeps up to date.
func renderConsole(v consoleView, ident, token string) string {
	var b strings.Builder
	b.Grow(1024 + 1024*len(v.Rows))
	b.WriteString(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="drover-token" content="` + esc(token) + `">
<title>` + esc(ident) + ` · drover</title>
<link rel="stylesheet" href="/console/console.css">
<script src="/console/console.js" defer></script>
</head>
<body>
<header><h1>drover <span class="ident">` + esc(ident) + `</span></h1>
<p id="live" class="live" role="status" aria-live="polite">Updated ` + time.Unix(v.Now, 0).UTC().Format("15:04:05 UTC") + `.</p>
</header>
<main>
`)
	if v.ReadOnly {
		b.WriteString(`<p class="note">This listener is read-only: actions need credentials.</p>` + "\n")
	}
	b.WriteString(`<table id="programs" data-now="` + strconv.FormatInt(v.Now, 10) + `">
<caption>Programs by group</caption>
<thead><tr><th scope="col">Program</th>`)
	for _, c := range consoleColumns {
		b.WriteString(`<th scope="col">` + c + `</th>`)
	}
	b.WriteString("</tr></thead>\n")
	group := ""
	for i, row := range v.Rows {
		if i == 0 || row.Group != group {
			if i > 0 {
				b.WriteString("</tbody>\n")
			}
			group = row.Group
			b.WriteString(`<tbody data-group="` + esc(group) + `"><tr class="group"><th scope="rowgroup" colspan="` +
				strconv.Itoa(len(consoleColumns)+1) + `">` + esc(group) + "</th></tr>\n")
		}
		writeConsoleRow(&b, row, token, v.ReadOnly)
	}
	if len(v.Rows) > 0 {
		b.WriteString("</tbody>\n")
	} else {
		b.WriteString(`<tbody><tr><td colspan="` + strconv.Itoa(len(consoleColumns)+1) + `">No programs.</td></tr></tbody>` + "\n")
	}
	b.WriteString(`</table>
<section id="activity" aria-labelledby="activity-h">
<h2 id="activity-h">Activity</h2>
<ol id="events" aria-live="polite" aria-relevant="additions"></ol>
</section>
<section id="log" aria-labelledby="log-h" hidden>
<h2 id="log-h">Log <span id="log-name"></span></h2>
<button type="button" id="log-close">Close log</button>
<pre id="log-text" tabindex="0"></pre>
</section>
</main>
</body>
</html>
`)
	return b.String()
}

// writeConsoleRow writes one program's row; its actions are forms that
// work without JavaScript.
func writeConsoleRow(b *strings.Builder, row consoleRow, token string, readOnly bool) {
	spec := esc(row.Spec)
	b.WriteString(`<tr class="program" data-spec="` + spec + `" data-start="` + strconv.FormatInt(row.Start, 10) + `">`)
	b.WriteString(`<th scope="row">` + esc(row.Name) + `</th>`)
	b.WriteString(`<td class="state"><span class="badge s-` + strings.ToLower(row.State) + `">` + esc(row.State) + `</span></td>`)
	pid := ""
	if row.PID != 0 {
		pid = strconv.Itoa(row.PID)
	}
	b.WriteString(`<td class="pid">` + pid + `</td>`)
	b.WriteString(`<td class="uptime">` + esc(row.Uptime) + `</td>`)
	b.WriteString(`<td class="cpu">` + dash(row.CPU) + `</td><td class="rss">` + dash(row.RSS) + `</td>`)
	b.WriteString(`<td class="gen">` + esc(generationText(row)) + `</td>`)
	b.WriteString(`<td class="desc">` + esc(row.Description) + `</td>`)
	b.WriteString(`<td class="actions">`)
	if !readOnly {
		// One form per row: the pressed button names the action.
		b.WriteString(`<form method="post" action="/console/action"><input type="hidden" name="token" value="` + esc(token) +
			`"><input type="hidden" name="name" value="` + spec + `">`)
		for _, a := range [][2]string{{"start", "Start"}, {"stop", "Stop"}, {"restart", "Restart"}, {"reload", "Reload"}, {"clearlog", "Clear log"}} {
			b.WriteString(`<button name="action" value="` + a[0] + `" aria-label="` + a[1] + " " + spec + `">` + a[1] + `</button>`)
		}
		b.WriteString(`<select name="signal" aria-label="Signal for ` + spec + `">`)
		for _, s := range []string{"HUP", "USR1", "USR2", "TERM", "INT", "QUIT", "KILL"} {
			b.WriteString(`<option>` + s + `</option>`)
		}
		b.WriteString(`</select><button name="action" value="signal" aria-label="Send the signal to ` + spec + `">Signal</button></form>`)
	}
	b.WriteString(`<a class="logtail" href="/logtail/` + esc(url.PathEscape(row.Spec)) + `" aria-label="Follow the log of ` + spec + `">Log</a>`)
	b.WriteString("</td></tr>\n")
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return esc(s)
}

// generationText says which generation runs and, during a reload, its
// strategy and the other generation's pid: the words console.js writes
// too, which adds the reload's last step from the event stream.
func generationText(row consoleRow) string {
	if row.Generation == 0 {
		return ""
	}
	s := strconv.FormatUint(row.Generation, 10)
	if row.Reloading != "" {
		s += " · reloading (" + row.Reloading + ")"
	}
	if row.HandoffPID != 0 {
		s += " · hand-off with pid " + strconv.Itoa(row.HandoffPID)
	}
	return s
}
