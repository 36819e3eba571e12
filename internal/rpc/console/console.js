// drover's console: keeps the server-rendered table up to date from the
// event stream (GET /events), runs the actions with fetch, follows logs.
// Nothing here polls: the table is re-read only when an event arrives.
"use strict";
(function () {
  const token = document.querySelector('meta[name="drover-token"]').content;
  const table = document.getElementById("programs");
  const live = document.getElementById("live");
  const events = document.getElementById("events");
  let skew = Number(table.dataset.now) - Date.now() / 1000; // server clock minus ours

  function say(text) { live.textContent = text; }

  function note(text, cls) {
    const li = document.createElement("li");
    li.textContent = new Date().toLocaleTimeString() + " " + text;
    if (cls) li.className = cls;
    events.appendChild(li);
    while (events.children.length > 200) events.removeChild(events.firstChild);
    events.scrollTop = events.scrollHeight;
  }

  function uptime(s) {
    const d = Math.floor(s / 86400); s %= 86400;
    const p = (n) => String(n).padStart(2, "0");
    const hms = Math.floor(s / 3600) + ":" + p(Math.floor(s / 60) % 60) + ":" + p(s % 60);
    return d === 0 ? hms : d + (d === 1 ? " day, " : " days, ") + hms;
  }

  // The same words as generationText in console_view.go.
  function generation(r) {
    if (!r.generation) return "";
    let s = String(r.generation);
    if (r.reloading) s += " · reloading (" + r.reloading + ")";
    if (r.handoff_pid) s += " · hand-off with pid " + r.handoff_pid;
    if (reloads.has(r.spec)) s += " · " + reloads.get(r.spec);
    return s;
  }

  function rowFor(spec) {
    for (const tr of table.querySelectorAll("tr.program")) if (tr.dataset.spec === spec) return tr;
    return null;
  }

  function setText(el, text) { if (el.textContent !== text) { el.textContent = text; return true; } return false; }

  // apply updates the rows in place; a new or removed program reloads
  // the page's table from the server-rendered page.
  const lastRow = new Map(); // spec → the row as last read

  function apply(view) {
    skew = view.now - Date.now() / 1000;
    const seen = new Set();
    let structural = false;
    lastRow.clear();
    for (const r of view.rows) {
      seen.add(r.spec);
      lastRow.set(r.spec, r);
      const tr = rowFor(r.spec);
      if (!tr) { structural = true; continue; }
      tr.dataset.start = String(r.start);
      let changed = false;
      const badge = tr.querySelector("td.state .badge");
      if (setText(badge, r.state)) { badge.className = "badge s-" + r.state.toLowerCase(); changed = true; }
      changed = setText(tr.querySelector("td.pid"), r.pid ? String(r.pid) : "") || changed;
      setText(tr.querySelector("td.uptime"), r.uptime);
      setText(tr.querySelector("td.cpu"), r.cpu || "—");
      setText(tr.querySelector("td.rss"), r.rss || "—");
      changed = setText(tr.querySelector("td.gen"), generation(r)) || changed;
      setText(tr.querySelector("td.desc"), r.description);
      if (changed) {
        tr.classList.remove("changed"); void tr.offsetWidth; tr.classList.add("changed");
      }
    }
    for (const tr of table.querySelectorAll("tr.program")) if (!seen.has(tr.dataset.spec)) structural = true;
    if (structural) reloadTable();
    say((table.dataset.live === "1" ? "Live: updated " : "Updated ") + new Date().toLocaleTimeString() + ".");
  }

  async function reloadTable() {
    const res = await fetch("/", { credentials: "same-origin" });
    if (!res.ok) return;
    const doc = new DOMParser().parseFromString(await res.text(), "text/html");
    const fresh = doc.getElementById("programs");
    if (fresh) { table.replaceChildren(...fresh.childNodes); bindForms(); }
  }

  // refresh re-reads the rows, at most one request in flight: events that
  // arrive meanwhile are folded into one more read.
  let busy = false, again = false;
  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      do {
        again = false;
        const res = await fetch("/console/rows", { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (res.ok) apply(await res.json());
      } while (again);
    } catch (e) {
      say("Could not read the programs: " + e);
    } finally { busy = false; }
  }

  // Reload steps by program, from PROCESS_RELOAD_* events, until the
  // reload is DONE or FAILED.
  const reloads = new Map();
  const phaseWords = {
    STARTED: (e) => "reload started",
    SPAWNED: (e) => "new pid " + e.new_pid + " spawned",
    READY: (e) => "new pid " + e.new_pid + " ready",
    RETIRING: (e) => "handing off: old pid " + e.old_pid + " stopping",
    RETIRED: (e) => "old pid " + e.old_pid + " gone",
  };

  function specOf(ev) { return ev.group && ev.name ? ev.group + ":" + ev.name : ""; }
  function who(ev) { return ev.group === ev.name ? ev.name : specOf(ev) || ev.group || ""; }

  // describe turns one event of /events into a line of the activity list.
  function describe(ev) {
    const t = ev.type || "";
    if (t.startsWith("PROCESS_RELOAD_")) {
      let s = "reload " + who(ev) + ": " + ev.phase;
      if (ev.strategy) s += " (" + ev.strategy + ")";
      if (ev.old_pid) s += " old pid " + ev.old_pid;
      if (ev.new_pid) s += " new pid " + ev.new_pid;
      if (ev.elapsed_ms) s += ", " + Math.round(ev.elapsed_ms) + " ms";
      if (ev.error) s += ": " + ev.error;
      return s;
    }
    if (t.startsWith("PROCESS_STATE_")) {
      return who(ev) + " " + (ev.from || "?") + " → " + ev.to + (ev.pid ? " (pid " + ev.pid + ")" : "");
    }
    if (t === "PROCESS_LIMIT_EXCEEDED") {
      return who(ev) + " over its " + ev.resource + " limit (" + ev.value + " > " + ev.limit + "): " + ev.action;
    }
    if (t.startsWith("SUPERVISOR_STATE_CHANGE")) return "daemon " + (ev.state || t);
    if (t.startsWith("PROCESS_GROUP_")) return "group " + ev.group + (t.endsWith("ADDED") ? " added" : " removed");
    if (t === "DROVER_EVENTS_OVERFLOW") return "some events were dropped (the table is re-read)";
    return t + (who(ev) ? " " + who(ev) : "");
  }

  // track notes a reload's step and shows it in the row at once (the
  // re-read of the rows that follows brings the pids and generation).
  function track(ev) {
    const spec = specOf(ev);
    if (!spec || !(ev.type || "").startsWith("PROCESS_RELOAD_")) return;
    const words = phaseWords[ev.phase];
    if (words) reloads.set(spec, words(ev));
    else reloads.delete(spec); // DONE, FAILED
    const tr = rowFor(spec), r = lastRow.get(spec);
    if (tr && r) setText(tr.querySelector("td.gen"), generation(r));
  }

  function listen() {
    if (!window.EventSource) return;
    const es = new EventSource("/events");
    const onEvent = (m) => {
      let ev;
      try { ev = JSON.parse(m.data); } catch (e) { return; }
      const t = ev.type || "";
      track(ev);
      const bad = ev.phase === "FAILED" || ev.to === "FATAL" || ev.to === "BACKOFF" || t === "PROCESS_LIMIT_EXCEEDED";
      note(describe(ev), bad ? "error" : (t.startsWith("PROCESS_RELOAD_") ? "reload" : ""));
      refresh();
    };
    es.onmessage = onEvent;
    // data-live on the table says whether the stream is open (tests and
    // styles read it; the status line says it in words).
    es.onopen = () => { table.dataset.live = "1"; say("Live: following events."); refresh(); };
    es.onerror = () => {
      table.dataset.live = "0";
      say(es.readyState === EventSource.CLOSED ? "Live updates stopped (reload the page)." : "Live updates interrupted: reconnecting…");
    };
  }

  async function act(form, button) {
    const data = new URLSearchParams(new FormData(form));
    data.set("action", button.value);
    const label = button.getAttribute("aria-label") || button.value;
    button.disabled = true;
    say(label + "…");
    if (button.value === "reload") note("reload " + data.get("name") + " requested", "reload");
    try {
      const res = await fetch("/console/action", {
        method: "POST", credentials: "same-origin", body: data,
        headers: { "X-Drover-Token": token },
      });
      let msg = "";
      try { const j = await res.json(); msg = j.error || ""; } catch (e) { msg = res.statusText; }
      if (res.ok) { say(label + ": done."); if (button.value === "reload") note("reload " + data.get("name") + " done", "reload"); refresh(); }
      else { say(label + " failed: " + msg); note(label + " failed: " + msg, "error"); }
    } catch (e) {
      say(label + " failed: " + e); note(label + " failed: " + e, "error");
    } finally { button.disabled = false; }
  }

  function bindForms() {
    for (const a of table.querySelectorAll("a.logtail")) a.addEventListener("click", followLog);
  }

  table.addEventListener("submit", (e) => {
    e.preventDefault();
    act(e.target, e.submitter || e.target.querySelector("button"));
  });

  // The log tail: /logtail/NAME streams the file's end and what follows.
  let logAbort = null;
  async function followLog(e) {
    e.preventDefault();
    if (logAbort) logAbort.abort();
    const ctl = new AbortController();
    logAbort = ctl;
    const sec = document.getElementById("log"), pre = document.getElementById("log-text");
    document.getElementById("log-name").textContent = e.currentTarget.closest("tr").dataset.spec;
    pre.textContent = "";
    sec.hidden = false;
    try {
      const res = await fetch(e.currentTarget.href, { credentials: "same-origin", signal: ctl.signal });
      if (!res.ok) { pre.textContent = "(" + res.status + " " + res.statusText + ")"; return; }
      const rd = res.body.getReader(), dec = new TextDecoder();
      for (;;) {
        const { value, done } = await rd.read();
        if (done) break;
        const stick = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
        pre.textContent += dec.decode(value, { stream: true });
        if (pre.textContent.length > 256 * 1024) pre.textContent = pre.textContent.slice(-128 * 1024);
        if (stick) pre.scrollTop = pre.scrollHeight;
      }
    } catch (err) {
      if (err.name !== "AbortError") pre.textContent += "\n(" + err + ")";
    }
  }
  document.getElementById("log-close").addEventListener("click", () => {
    if (logAbort) logAbort.abort();
    logAbort = null;
    document.getElementById("log").hidden = true;
  });

  // Uptimes count on in the page between events (no request to anyone).
  setInterval(() => {
    if (document.hidden) return;
    const now = Date.now() / 1000 + skew;
    for (const tr of table.querySelectorAll("tr.program")) {
      const start = Number(tr.dataset.start);
      if (start > 0) setText(tr.querySelector("td.uptime"), uptime(Math.max(0, Math.floor(now - start))));
    }
  }, 1000);

  bindForms();
  listen();
})();
