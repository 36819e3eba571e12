package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

const (
	zdDoc        = "../../docs/zero-downtime.md"
	presetsBegin = "<!-- BEGIN presets: generated from config.Presets by TestDocsPresetsTable (DROVER_WRITE_DOCS=1 rewrites it) -->\n"
	presetsEnd   = "<!-- END presets -->\n"
)

// presetsMarkdown is the presets table of docs/zero-downtime.md and how to
// start each server on drover's sockets, from Presets.
func presetsMarkdown() string {
	sig := func(s syscall.Signal) string {
		if s == 0 {
			return "none"
		}
		return "`" + strings.TrimPrefix(SignalName(s), "SIG") + "`"
	}
	var b strings.Builder
	b.WriteString("| `server=` | graceful stop | immediate stop | reload in place | re-exec | never send it | default `ready=` | default `reload=` |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, p := range Presets {
		var never []string
		for _, s := range p.Never {
			never = append(never, sig(s))
		}
		for _, s := range p.Deadly {
			never = append(never, sig(s)+" (not handled: kills it)")
		}
		if len(never) == 0 {
			never = []string{"—"}
		}
		ready := "none: `startsecs` (set `ready=`)"
		if p.Ready != "" {
			ready = "`" + p.Ready + "`"
			if strings.Contains(p.Ready, ReadyProbeHost) {
				ready += " with `sockets=`, else none"
			}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s | %s | `%s` with `sockets=`, else `restart` |\n",
			p.Name, sig(p.GracefulStop), sig(p.ImmediateStop), sig(p.Reload), sig(p.Reexec),
			strings.Join(never, ", "), ready, p.Strategy)
	}
	b.WriteString("\nHow to start each on drover's sockets:\n\n")
	for _, p := range Presets {
		fmt.Fprintf(&b, "- `%s`: %s\n", p.Name, p.Usage)
	}
	return b.String()
}

// TestDocsPresetsTable: the presets table in docs/zero-downtime.md is
// what Presets hold, so the two cannot drift.
func TestDocsPresetsTable(t *testing.T) {
	doc, err := os.ReadFile(zdDoc)
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	i, j := strings.Index(text, presetsBegin), strings.Index(text, presetsEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has no presets block (%q ... %q)", zdDoc, presetsBegin, presetsEnd)
	}
	want := presetsMarkdown()
	if got := text[i+len(presetsBegin) : j]; got != want {
		if os.Getenv("DROVER_WRITE_DOCS") == "1" {
			text = text[:i+len(presetsBegin)] + want + text[j:]
			if err := os.WriteFile(zdDoc, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("%s's presets block is stale (DROVER_WRITE_DOCS=1 go test -run TestDocsPresetsTable ./internal/config rewrites it); want:\n%s", zdDoc, want)
	}
}

// TestDocsRecipesClean: every recipe of docs/zero-downtime.md's "Recipes"
// section is a whole [program:x] section that loads with no error and no
// warning (drover check's preset traps included), and there is one per
// server the suite runs.
func TestDocsRecipesClean(t *testing.T) {
	doc, err := os.ReadFile(zdDoc)
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	start := strings.Index(text, "\n## Recipes")
	if start < 0 {
		t.Fatal("no Recipes section")
	}
	section := text[start+1:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	blocks := regexp.MustCompile("(?s)```ini\n(.*?)```").FindAllStringSubmatch(section, -1)
	var servers []string
	for _, m := range blocks {
		body := m[1]
		if !strings.HasPrefix(body, "[program:") {
			t.Errorf("a recipe is not a whole [program:x] section:\n%s", body)
			continue
		}
		conf := filepath.Join(t.TempDir(), "supervisord.conf")
		if err := os.WriteFile(conf, []byte("[supervisord]\n"+body), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(conf, Options{})
		if err != nil {
			t.Errorf("recipe does not load: %v\n%s", err, body)
			continue
		}
		if len(cfg.Warnings) != 0 {
			t.Errorf("recipe warns: %v\n%s", cfg.Warnings, body)
		}
		p := cfg.Groups[0].Processes[0]
		servers = append(servers, p.Drover.Server.Name)
		if len(p.Drover.Sockets) == 0 || p.Drover.Reload != ReloadBlueGreen || p.Drover.Ready.Kind == "" {
			t.Errorf("recipe is not a blue/green one with readiness: %+v\n%s", p.Drover, body)
		}
	}
	if want := []string{"unicorn", "puma", "gunicorn", "starman", ""}; strings.Join(servers, ",") != strings.Join(want, ",") {
		t.Errorf("recipes for servers %q, want %q", servers, want)
	}
}
