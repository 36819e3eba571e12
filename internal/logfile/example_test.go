package logfile_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/drover-sh/drover/internal/logfile"
)

// A process's stdout pipe pumped into a rotating log, with PROCESS_LOG
// data handed to an owner goroutine through a channel.
func ExamplePump() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	w, err := logfile.OpenWriter(filepath.Join(dir, "web-stdout.log"), 50<<20, 10, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer w.Close()
	pump, err := logfile.NewPump(nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pump.Close()

	r, wr, _ := os.Pipe() // wr would be the child's fd 1
	events := make(chan []byte, 64)
	closed := make(chan struct{})
	_, err = pump.Add(r, logfile.Sink{
		Name: "web",
		Log:  w,
		// The slice is borrowed: copy it before it leaves the callback.
		OnLog:    func(b []byte) { events <- bytes.Clone(b) },
		OnClosed: func() { close(closed) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Fprint(wr, "hello\n")
	wr.Close() // the child exits: EOF
	<-closed

	data, _ := logfile.Read(w.Path(), -100, 0)
	fmt.Printf("log %q, event %q\n", data, <-events)
	// Output: log "hello\n", event "hello\n"
}
