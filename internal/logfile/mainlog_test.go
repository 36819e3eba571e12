package logfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLevelFromNumber(t *testing.T) {
	cases := map[int]string{3: "BLAT", 5: "TRAC", 10: "DEBG", 20: "INFO", 30: "WARN", 40: "ERRO", 50: "CRIT", 0: "BLAT", 25: "INFO", 99: "CRIT"}
	for n, want := range cases {
		if got := LevelName(LevelFromNumber(n)); got != want {
			t.Errorf("%d: %s want %s", n, got, want)
		}
	}
}

func TestOpenMainLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "supervisord.log")
	var echo syncBuf
	ml, err := OpenMainLog(MainLogConfig{Path: path, MaxBytes: 1000, Backups: 1, Level: LevelFromNumber(30), Stdout: &echo})
	if err != nil {
		t.Fatal(err)
	}
	defer ml.File.Close()
	ml.Logger.Info("not shown")
	ml.Logger.Warn("exited: web (exit status 1; not expected)")
	b, _ := os.ReadFile(path)
	if !strings.HasSuffix(string(b), " WARN exited: web (exit status 1; not expected)\n") || strings.Contains(string(b), "not shown") {
		t.Fatalf("main log %q", b)
	}
	if echo.String() != string(b) {
		t.Fatalf("echo %q", echo.String())
	}
	if _, err := OpenMainLog(MainLogConfig{Path: "syslog"}); !errors.Is(err, ErrNoSyslog) {
		t.Fatalf("syslog without writer: %v", err)
	}
	var sys lineRec
	ml2, err := OpenMainLog(MainLogConfig{Path: "syslog", Syslog: &sys})
	if err != nil || ml2.File != nil {
		t.Fatal(err)
	}
	ml2.Logger.Info("hello")
	if len(sys.lines) != 1 || !strings.HasSuffix(sys.lines[0], " INFO hello\n") {
		t.Fatalf("syslog %q", sys.lines)
	}
}
