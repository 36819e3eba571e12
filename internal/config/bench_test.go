package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// genConfig writes a config with n programs in the style of real ones:
// comments, %(...)s expansions, environment=, log options.
func genConfig(n int) string {
	var b strings.Builder
	b.WriteString("[supervisord]\nlogfile=/tmp/supervisord.log ; main log\nenvironment=DEPLOY=\"prod\",REGION=eu\n\n[unix_http_server]\nfile=/tmp/drover-bench.sock\n\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "[program:app%04d]\n", i)
		fmt.Fprintf(&b, "command=/usr/bin/env python3 -m worker --queue q%d --name %%(program_name)s --region %%(ENV_REGION)s\n", i)
		b.WriteString("directory=/tmp\nautostart=true\nautorestart=unexpected\nstartsecs=5\nstopsignal=TERM\nstopwaitsecs=30\n")
		fmt.Fprintf(&b, "priority=%d\n", 100+i%10)
		b.WriteString("environment=PYTHONUNBUFFERED=1,QUEUE_NAME=\"q %(program_name)s\"\n")
		b.WriteString("stdout_logfile=/tmp/%(program_name)s.log\nstdout_logfile_maxbytes=10MB\nredirect_stderr=true\n\n")
	}
	return b.String()
}

// BenchmarkLoad1000 parses, expands and validates a 1,000-program config.
func BenchmarkLoad1000(b *testing.B) {
	dir := b.TempDir()
	p := filepath.Join(dir, "supervisord.conf")
	if err := os.WriteFile(p, []byte(genConfig(1000)), 0o644); err != nil {
		b.Fatal(err)
	}
	o := testOptions(dir)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cfg, err := Load(p, o)
		if err != nil {
			b.Fatal(err)
		}
		if len(cfg.Groups) != 1000 {
			b.Fatalf("%d groups", len(cfg.Groups))
		}
	}
}
