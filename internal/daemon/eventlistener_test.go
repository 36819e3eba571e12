package daemon_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// eventListener is a listener speaking supervisord's protocol on stdio, as
// superlance's do: READY, read one header line and len characters, answer.
// It appends "serial eventname payload" (newlines as \n) to path for every
// event it gets, and rejects (FAIL) the first event whose payload contains
// "reject-once".
func eventListener(path string) int {
	in := bufio.NewReader(os.Stdin)
	rejected := false
	for {
		fmt.Print("READY\n")
		header, err := in.ReadString('\n')
		if err != nil {
			return 0
		}
		fields := map[string]string{}
		for _, kv := range strings.Fields(header) {
			k, v, _ := strings.Cut(kv, ":")
			fields[k] = v
		}
		n, err := strconv.Atoi(fields["len"])
		if err != nil {
			fmt.Fprintf(os.Stderr, "bad header %q\n", header)
			return 2
		}
		var payload []rune
		for len(payload) < n {
			r, _, err := in.ReadRune()
			if err != nil {
				return 2
			}
			payload = append(payload, r)
		}
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return 2
		}
		fmt.Fprintf(f, "%s %s %s\n", fields["serial"], fields["eventname"], strings.ReplaceAll(string(payload), "\n", `\n`))
		f.Close()
		if strings.Contains(string(payload), "reject-once") && !rejected {
			rejected = true
			fmt.Print("RESULT 4\nFAIL")
			continue
		}
		fmt.Print("RESULT 2\nOK")
	}
}

// A real listener process gets supervisord's events: a process exit, a
// remote message (rejected once, then delivered again with the same
// serial), captured output and logged output.
func TestEventListenerReceivesEvents(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, "events.txt")
	self, _ := os.Executable()
	f := start(t, fmt.Sprintf(`[eventlistener:watch]
command = %s
environment = DROVER_TEST_CHILD="listener:%s"
events = PROCESS_STATE_EXITED,PROCESS_STATE_STOPPED,REMOTE_COMMUNICATION,PROCESS_COMMUNICATION,PROCESS_LOG,SUPERVISOR_STATE_CHANGE
startsecs = 0

`, self, events)+
		program("quick", "exit:3", "startsecs = 0", "autorestart = false", "autostart = false")+
		program("talker", "say:before<!--XSUPERVISOR:BEGIN-->captured<!--XSUPERVISOR:END-->after",
			"stdout_capture_maxbytes = 1KB", "autostart = false")+
		program("logger", "say:logged line", "stdout_events_enabled = true", "autostart = false"))
	f.waitLine(`success: watch entered RUNNING state`)

	f.call("supervisor.startProcess", "quick", false)
	waitFile(t, events, "PROCESS_STATE_EXITED processname:quick groupname:quick from_state:RUNNING expected:0 pid:")

	f.call("supervisor.sendRemoteCommEvent", "mytype", "reject-once é")
	waitFile(t, events, "REMOTE_COMMUNICATION type:mytype\\nreject-once é\n")
	f.waitLine(`WARN watch: event was rejected`)
	// The rejected event is buffered again and redelivered after the log
	// line: wait for the listener to have written it twice.
	waitFileFunc(t, events, "has the rejected event twice", func(b []byte) bool {
		return strings.Count(string(b), "REMOTE_COMMUNICATION type:mytype") >= 2
	})
	b, _ := os.ReadFile(events)
	m := regexp.MustCompile(`(?m)^(\d+) REMOTE_COMMUNICATION .*$`).FindAllStringSubmatch(string(b), -1)
	if len(m) != 2 || m[0][0] != m[1][0] {
		t.Fatalf("want the rejected event delivered twice with one serial, got %q", m)
	}

	f.call("supervisor.startProcess", "talker", true)
	waitFile(t, events, "PROCESS_COMMUNICATION_STDOUT processname:talker groupname:talker pid:")
	waitFile(t, events, "\\ncaptured\n")
	f.call("supervisor.startProcess", "logger", true)
	waitFile(t, events, "PROCESS_LOG_STDOUT processname:logger groupname:logger pid:")
	waitFile(t, events, " channel:stdout\\nlogged line\n")

	// The listener's protocol traffic is in its stdout log, as in supervisord.
	log, _ := f.call("supervisor.readProcessStdoutLog", "watch", 0, 0).(string)
	if !strings.Contains(log, "READY\nRESULT 2\nOK") {
		t.Errorf("listener stdout log lacks the protocol: %q", log)
	}

	// At shutdown the pool is stopped last, once it has delivered what it
	// buffered: the STOPPING event and the other programs' STOPPED ones.
	f.signalDaemon(syscall.SIGTERM)
	waitFile(t, events, "SUPERVISOR_STATE_CHANGE_STOPPING \n")
	waitFile(t, events, "PROCESS_STATE_STOPPED processname:talker groupname:talker from_state:STOPPING pid:")
	waitFile(t, events, "PROCESS_STATE_STOPPED processname:logger groupname:logger from_state:STOPPING pid:")
	f.waitLine(`stopped: watch \(terminated by SIGTERM\)`)
}
