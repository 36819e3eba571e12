//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// autoName matches an AUTO log file's random part.
var autoName = regexp.MustCompile(`---e2e-[a-z0-9_]{8}\.log$`)

// TestE2EConfigInfoAutoPaths: getAllConfigInfo names the AUTO log files a
// running group was added with, and "auto" once a reread made new config
// objects, in both daemons alike.
func TestE2EConfigInfoAutoPaths(t *testing.T) {
	needPeers(t)
	t.Parallel()
	sup, drv := startPair(t, config{}, config{})
	p := &pair{t: t, sup: sup, drv: drv}
	s, d := both(p, func(x *daemon) map[string]map[string][]any {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "python3", filepath.Join("testdata", "configinfo.py"),
			filepath.Join(x.dir, "supervisor.sock")).Output()
		if err != nil {
			t.Fatalf("configinfo.py against %s: %v", x.kind, err)
		}
		var v map[string]map[string][]any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatal(err)
		}
		// The directory and the random part differ between the runs.
		for _, phase := range v {
			for _, l := range phase {
				for i, f := range l[:2] {
					if s, ok := f.(string); ok && autoName.MatchString(s) {
						l[i] = "AUTO:" + filepath.Base(autoName.ReplaceAllString(s, ""))
					}
				}
			}
		}
		return v
	})
	p.compare("getAllConfigInfo before and after reloadConfig", s, d)
	if got := d["before"]["sleeper:sleeper"][0]; got != "AUTO:sleeper-stdout" {
		t.Errorf("drover before the reread: %v", got)
	}
	if got := d["after"]["sleeper:sleeper"][0]; got != "auto" {
		t.Errorf("drover after the reread: %v", got)
	}
}
