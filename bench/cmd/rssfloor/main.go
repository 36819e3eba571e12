// Command rssfloor is the RSS floor of the bench's rss row: the least a Go
// daemon of the fleet's shape holds resident. `rssfloor N SLEEP` starts N
// children `SLEEP 100000`, each with its stdout and stderr on a pipe whose
// read end it holds in Go's netpoller (a non-blocking os.File), reaps on
// SIGCHLD, prints "ready" once all run, then waits: a supervisor's shape
// with nothing else (no config, logs, control server, goroutine per
// program). A binary of its own (stdlib only), so that its file-backed
// pages are a minimal Go program's, not the harness's.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: rssfloor N SLEEP")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[1])
	if err != nil || n <= 0 {
		fmt.Fprintln(os.Stderr, "rssfloor: N must be > 0")
		os.Exit(2)
	}
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, syscall.SIGCHLD)
	null, err := os.Open(os.DevNull)
	if err != nil {
		fail(err)
	}
	held := make([]*os.File, 0, 2*n)
	argv := []string{os.Args[2], "100000"}
	for range n {
		var p [2][2]int
		for i := range p {
			if err := syscall.Pipe2(p[i][:], syscall.O_CLOEXEC); err != nil {
				fail(err)
			}
		}
		attr := &syscall.ProcAttr{Files: []uintptr{null.Fd(), uintptr(p[0][1]), uintptr(p[1][1])}}
		if _, err := syscall.ForkExec(argv[0], argv, attr); err != nil {
			fail(err)
		}
		for i := range p {
			_ = syscall.Close(p[i][1])
			_ = syscall.SetNonblock(p[i][0], true)
			held = append(held, os.NewFile(uintptr(p[i][0]), "pipe"))
		}
	}
	fmt.Println("ready")
	for range chld {
		for {
			var ws syscall.WaitStatus
			if pid, _ := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 {
				break
			}
		}
	}
	_ = held
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "rssfloor:", err)
	os.Exit(1)
}
