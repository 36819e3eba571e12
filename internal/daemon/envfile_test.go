package daemon_test

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// environment_file with a real process: the program sees the file's
// variables (environment= winning over them); a rotated secret is a
// changed program for reread, and a HUP restarts it with the new value.
func TestEnvironmentFileRotation(t *testing.T) {
	dir := t.TempDir()
	secrets := filepath.Join(dir, "secrets.env")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(secrets, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("# rotated by the vault agent\nexport API_TOKEN=\"one\"\nFROM=file\n")
	section := fmt.Sprintf("[program:web]\ncommand = /bin/sh -c 'echo \"token=$API_TOKEN from=$FROM\"; exec sleep 1000'\n"+
		"environment_file = %s\nenvironment = FROM=\"conf\"\n\n", secrets)
	f := start(t, section)
	f.waitLine(`success: web entered RUNNING`)
	out := f.info("web")["stdout_logfile"].(string)
	waitFile(t, out, "token=one from=conf\n")

	write("export API_TOKEN=\"two\"\nFROM=file\n")
	got := f.call("supervisor.reloadConfig").([]any)[0].([]any)
	if changed := got[1].([]any); len(changed) != 1 || changed[0] != "web" {
		t.Fatalf("reread after the rotation: %v", got)
	}
	m := f.mark()
	f.signalDaemon(syscall.SIGHUP)
	f.waitLineAfter(m, `update: added \[\], changed \[web\], removed \[\]`)
	f.waitLineAfter(m, `success: web entered RUNNING`)
	// The changed group is a new group: a new AUTO log.
	waitFile(t, f.info("web")["stdout_logfile"].(string), "token=two from=conf\n")
}
