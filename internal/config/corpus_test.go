package config

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/drover-sh/drover/internal/testenv"
)

// corpusDir finds ../shared/corpus/supervisord beside the module root, or
// $DROVER_CORPUS.
func corpusDir(t testing.TB) string {
	if d := os.Getenv("DROVER_CORPUS"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "corpus", "supervisord")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

type corpusEntry struct {
	Entry            string            `json:"entry"`
	MainFile         string            `json:"main_file"`
	Status           string            `json:"status"`
	Error            *string           `json:"error"`
	EnvAssumed       map[string]string `json:"env_assumed"`
	Hostname         *string           `json:"hostname"`
	HostNotes        []string          `json:"host_notes"`
	IncludeRewritten *string           `json:"include_rewritten"`
	WrappedAsInclude bool              `json:"wrapped_as_include"`
	Warnings         []string          `json:"warnings"`
	Parsed           json.RawMessage   `json:"parsed"`
}

// corpusDifferences are entries where drover differs from 4.2 on purpose:
// the expected outcome is a rejection, for the reason given.
var corpusDifferences = map[string]string{
	"038_docker-icinga2": "result_handler = supervisor_stdout:event_handler names Python code (4.2 also fails on a host without the plugin)",
	"061_supvisors":      "[rpcinterface:supvisors] names Python code (4.2 also fails on a host without supvisors installed)",
}

// corpusHost is the reference run's machine: users root, nobody and
// www-data exist, and so do the users and groups its host_notes list as
// allowed although absent ("user 'zulip' does not exist here"); numeric
// ids resolve (the reference made up uids for unknown ones); every
// directory exists (missing log directories were allowed).
type corpusHost struct {
	users, groups map[string]bool
}

var noteRE = regexp.MustCompile(`^(user|group) '([^']*)' does not exist here`)

func newCorpusHost(notes []string) corpusHost {
	h := corpusHost{users: map[string]bool{"root": true, "nobody": true, "www-data": true},
		groups: map[string]bool{"root": true, "nogroup": true, "www-data": true}}
	for _, n := range notes {
		if m := noteRE.FindStringSubmatch(n); m != nil {
			if m[1] == "user" {
				h.users[m[2]] = true
			} else {
				h.groups[m[2]] = true
			}
		}
	}
	return h
}

func fakeID(s string) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	switch s {
	case "root":
		return 0
	case "nobody", "nogroup":
		return 65534
	}
	h := fnv.New32a()
	h.Write([]byte(s))
	return 900000 + int(h.Sum32()%1000)
}

func (c corpusHost) LookupUser(s string) (*UserInfo, error) {
	if _, err := strconv.Atoi(s); err != nil && !c.users[s] {
		return nil, ErrUnknownUser
	}
	id := fakeID(s)
	return &UserInfo{Name: s, UID: id, GID: id, Groups: []uint32{uint32(id)}, HomeDir: "/home/" + s}, nil
}

func (c corpusHost) LookupGroup(s string) (int, error) {
	if _, err := strconv.Atoi(s); err != nil && !c.groups[s] {
		return 0, ErrUnknownGroup
	}
	return fakeID(s), nil
}

func (corpusHost) IsDir(string) bool { return true }
func (corpusHost) UID() int          { return 0 }

func readCorpus(t *testing.T) (string, []corpusEntry) {
	dir := corpusDir(t)
	f, err := os.Open(filepath.Join(dir, "EXPECTED_supervisor-4.2.5.jsonl"))
	if err != nil {
		testenv.MissingPeer(t, "corpus not available (%v); set DROVER_CORPUS or check out shared/ beside the repo", err)
	}
	defer f.Close()
	var out []corpusEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 4<<20), 4<<20)
	for sc.Scan() {
		var e corpusEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return dir, out
}

func copyTree(t *testing.T, src, dst string) {
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// stageEntry copies one entry to root (a scratch <CORPUS>), applies the
// README's include rewrite or fragment wrapper, and returns the file to load.
func stageEntry(t *testing.T, corpus, root string, e corpusEntry) string {
	top := strings.SplitN(e.MainFile, "/", 2)[0]
	copyTree(t, filepath.Join(corpus, top), filepath.Join(root, top))
	main := filepath.Join(root, e.MainFile)
	if e.IncludeRewritten != nil {
		from, to, ok := strings.Cut(*e.IncludeRewritten, " => ")
		if !ok {
			t.Fatalf("bad include_rewritten %q", *e.IncludeRewritten)
		}
		var abs []string
		for _, g := range strings.Fields(to) {
			abs = append(abs, filepath.Join(root, top, g))
		}
		b, err := os.ReadFile(main)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), from) {
			t.Fatalf("%s: %q not in the main file", e.Entry, from)
		}
		b = []byte(strings.Replace(string(b), from, strings.Join(abs, " "), 1))
		if err := os.WriteFile(main, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if e.WrappedAsInclude {
		w := filepath.Join(filepath.Dir(main), "wrapper.conf")
		text := "[supervisord]\n[include]\nfiles = " + filepath.Base(main) + "\n"
		if err := os.WriteFile(w, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return w
	}
	return main
}

func corpusOptions(e corpusEntry) Options {
	env := []string{}
	for k, v := range e.EnvAssumed {
		env = append(env, k+"="+v)
	}
	o := Options{Env: env, Hostname: "drover-test", Dir: "/CWD", TempDir: "/tmp", Host: newCorpusHost(e.HostNotes)}
	if e.Hostname != nil {
		o.Hostname = *e.Hostname
	}
	return o
}

func TestCorpus(t *testing.T) {
	corpus, entries := readCorpus(t)
	if len(entries) != 73 {
		t.Errorf("corpus has %d entries, want 73", len(entries))
	}
	var okN, badN, diffN int
	for _, e := range entries {
		t.Run(e.Entry, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "corpus")
			file := stageEntry(t, corpus, root, e)
			cfg, err := Load(file, corpusOptions(e))
			if why, ok := corpusDifferences[e.Entry]; ok {
				diffN++
				if err == nil {
					t.Fatalf("deliberate difference (%s): want an error, got none", why)
				}
				checkErrorPlaces(t, err)
				t.Logf("deliberate difference: %s; drover says: %v", why, err)
				return
			}
			if e.Status != "ok" {
				badN++
				if err == nil {
					t.Fatalf("4.2 rejects this (%s); drover accepted it", *e.Error)
				}
				checkErrorPlaces(t, err)
				t.Logf("4.2: %s\ndrover: %v", firstLine(*e.Error), err)
				return
			}
			if err != nil {
				t.Fatalf("4.2 accepts this; drover: %v", err)
			}
			okN++
			compareDump(t, root, cfg, e)
		})
	}
	t.Logf("corpus: %d parsed equal, %d rejected as 4.2 does, %d deliberate differences", okN, badN, diffN)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// checkErrorPlaces requires every error to name a file and a line.
func checkErrorPlaces(t *testing.T, err error) {
	t.Helper()
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error is %T, want ErrorList: %v", err, err)
	}
	for _, e := range list {
		if e.Pos.File == "" || e.Pos.Line <= 0 {
			t.Errorf("error without file:line: %v", e)
		}
	}
}

func compareDump(t *testing.T, root string, cfg *Config, e corpusEntry) {
	t.Helper()
	got := normalizeJSON(t, cfg.Dump(), root)
	var want map[string]any
	if err := json.Unmarshal(e.Parsed, &want); err != nil {
		t.Fatal(err)
	}
	sd := want["supervisord"].(map[string]any)
	for _, k := range []string{"logfile", "pidfile"} {
		if s, _ := sd[k].(string); s != "syslog" && !strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "<") {
			sd[k] = "<CWD>/" + filepath.Clean(s)
		}
		if s, _ := sd[k].(string); strings.HasPrefix(s, "<CORPUS>/../") {
			sd[k] = "<CORPUS>/../" + filepath.Clean(strings.TrimPrefix(s, "<CORPUS>/../"))
		}
	}
	sortGroups(want)
	sortGroups(got)
	for _, srv := range want["servers"].([]any) {
		m := srv.(map[string]any)
		if c, _ := m["chown"].(string); strings.Contains(c, "9000") {
			// uids the reference host made up: compare that both resolved.
			m["chown"] = "resolved"
		}
	}
	for i, srv := range got["servers"].([]any) {
		m := srv.(map[string]any)
		if w := want["servers"].([]any); i < len(w) && w[i].(map[string]any)["chown"] == "resolved" {
			if m["chown"] != "(-1, -1)" {
				m["chown"] = "resolved"
			}
		}
	}
	for _, k := range []string{"supervisord", "servers", "groups"} {
		if !reflect.DeepEqual(got[k], want[k]) {
			g, _ := json.MarshalIndent(got[k], "", " ")
			w, _ := json.MarshalIndent(want[k], "", " ")
			t.Errorf("%s differs:\n%s", k, diffLines(string(w), string(g)))
		}
	}
	if t.Failed() {
		t.Logf("files: %v\nwarnings: %v", cfg.Files, cfg.Warnings)
	}
	for _, w := range e.Warnings {
		if !hasWarning(cfg, w) {
			t.Errorf("4.2 warns %q; drover has no such warning (has %v)", w, cfg.Warnings)
		}
	}
}

func hasWarning(cfg *Config, w string) bool {
	for _, x := range cfg.Warnings {
		switch {
		case strings.HasPrefix(w, "No file matches") && strings.HasPrefix(x.Msg, "no file matches"),
			strings.Contains(w, "redirect_stderr=true") && strings.Contains(x.Msg, "redirect_stderr=true"):
			return true
		}
	}
	return false
}

func normalizeJSON(t *testing.T, v any, root string) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	s = strings.ReplaceAll(s, root, "<CORPUS>")
	s = strings.ReplaceAll(s, filepath.Dir(root)+"/", "<CORPUS>/../")
	s = strings.ReplaceAll(s, `"/CWD/`, `"<CWD>/`)
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func sortGroups(m map[string]any) {
	gs, _ := m["groups"].([]any)
	for _, g := range gs {
		gm := g.(map[string]any)
		ps := gm["processes"].([]any)
		sort.SliceStable(ps, func(i, j int) bool {
			a, b := ps[i].(map[string]any), ps[j].(map[string]any)
			if a["priority"].(float64) != b["priority"].(float64) {
				return a["priority"].(float64) < b["priority"].(float64)
			}
			return a["name"].(string) < b["name"].(string)
		})
		if ev, ok := gm["events"].([]any); ok {
			sort.Slice(ev, func(i, j int) bool { return ev[i].(string) < ev[j].(string) })
		}
	}
	sort.SliceStable(gs, func(i, j int) bool {
		a, b := gs[i].(map[string]any), gs[j].(map[string]any)
		if a["priority"].(float64) != b["priority"].(float64) {
			return a["priority"].(float64) < b["priority"].(float64)
		}
		return a["name"].(string) < b["name"].(string)
	})
}

// diffLines shows the lines of want and got that differ.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	n := max(len(w), len(g))
	shown := 0
	for i := 0; i < n && shown < 20; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d\n  want %s\n  got  %s\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}

// TestCorpusHostDependent loads the entries whose host_notes say a user is
// missing on a host without that user: like supervisord there, drover must
// refuse them, naming the file, line and user.
func TestCorpusHostDependent(t *testing.T) {
	corpus, entries := readCorpus(t)
	n := 0
	for _, e := range entries {
		missing := ""
		for _, note := range e.HostNotes {
			if m := noteRE.FindStringSubmatch(note); m != nil && m[1] == "user" {
				missing = m[2]
			}
		}
		if e.Status != "ok" || missing == "" {
			continue
		}
		n++
		t.Run(e.Entry, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "corpus")
			file := stageEntry(t, corpus, root, e)
			o := corpusOptions(e)
			o.Host = newCorpusHost(nil)
			_, err := Load(file, o)
			if !errors.Is(err, ErrUnknownUser) && !errors.Is(err, ErrUnknownGroup) {
				t.Fatalf("want an unknown-user error for %q, got %v", missing, err)
			}
			checkErrorPlaces(t, err)
		})
	}
	if n == 0 {
		t.Error("no host-dependent entries found")
	}
}
