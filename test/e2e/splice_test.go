//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drover-sh/drover/internal/rpc"
)

// numberedLines are what the "numbered" child writes: "%08d\n" each, as
// one stream in writes of 65,537 bytes (ending inside lines), 2.7 MB in
// all: output drover captures with splice(2) into a plain log file. The
// first half goes at once, the second once a line arrives on stdin.
const numberedLines = 300000

func writeNumbered() {
	var all []byte
	for i := range numberedLines {
		all = fmt.Appendf(all, "%08d\n", i)
	}
	writeChunks(all[:len(all)/2])
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return
	}
	writeChunks(all[len(all)/2:])
}

func writeChunks(all []byte) {
	for len(all) > 0 {
		k := min(len(all), 65537)
		if _, err := os.Stdout.Write(all[:k]); err != nil {
			return
		}
		all = all[k:]
	}
}

// TestE2ESpliceTailFollow: a program's bulk output goes into its plain log
// file (the splice path). `supervisorctl tail -f` shows the first half's
// last line (from its opening tail or as it follows); then the second half
// (1.35 MB) is written, and tail -f shows every line of it, in order and
// whole; the file holds all of them.
func TestE2ESpliceTailFollow(t *testing.T) {
	needPeers(t)
	raw := fmt.Sprintf(`
[program:numbered]
command=%s
startsecs=0
stdout_logfile=%%(here)s/numbered.log
stdout_logfile_maxbytes=0
`, childCmd("numbered"))
	d := startDaemon(t, "drover", config{Bare: true, Raw: raw})
	d.waitLog(0, `success: numbered entered RUNNING`)
	half := fmt.Sprintf("%08d\n", numberedLines/2-1)

	cmd := exec.Command(supervisorctlPath, "-c", d.conf, "tail", "-f", "numbered")
	out, err := cmd.StdoutPipe()
	var seen []string
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGKILL); _ = cmd.Wait() }()
	cmd.Stderr = cmd.Stdout
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		br := bufio.NewReader(out)
		for {
			l, err := br.ReadString('\n')
			if l != "" {
				lines <- l
			}
			if err != nil {
				return
			}
		}
	}()
	sent := false
	last := fmt.Sprintf("%08d\n", numberedLines-1)
	next, first := -1, -1
	deadline := time.After(waitTimeout)
	for next < numberedLines {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("tail -f ended after line %d (before the numbers: %q)", next-1, seen)
			}
			n, err := strconv.Atoi(strings.TrimSuffix(l, "\n"))
			if len(l) != 9 || err != nil {
				if next < 0 {
					seen = append(seen, l)
					continue // its banner, or the cut first line of the tail
				}
				t.Fatalf("after line %d: %q is not a whole numbered line", next-1, l)
			}
			if next >= 0 && n != next {
				t.Fatalf("after line %d came %q", next-1, l)
			}
			if first < 0 {
				first = n
			}
			if l == half && !sent {
				// tail -f is following: now the second half.
				sendStdin(t, d, "numbered", "go\n")
				sent = true
			}
			next = n + 1
			if l == last {
				next = numberedLines
			}
		case <-deadline:
			t.Fatalf("tail -f: saw lines %d..%d of %d within %v", first, next-1, numberedLines, waitTimeout)
		}
	}
	b, err := os.ReadFile(filepath.Join(d.dir, "numbered.log"))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != numberedLines*9 || string(b[len(b)-9:]) != last {
		t.Fatalf("log file: %d bytes, want %d", len(b), numberedLines*9)
	}
	if first >= numberedLines/2 {
		t.Fatalf("tail -f started at line %d, after the second half began", first)
	}
	t.Logf("tail -f saw lines %d..%d", first, numberedLines-1)
}

// sendStdin writes data to the program's stdin (sendProcessStdin).
func sendStdin(t *testing.T, d *daemon, name, data string) {
	t.Helper()
	c, err := rpc.NewClientAuth("unix://"+filepath.Join(d.dir, "supervisor.sock"), rpc.ClientAuth{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if _, err := c.Call(ctx, "supervisor.sendProcessStdin", name, data); err != nil {
		t.Fatal(err)
	}
}
