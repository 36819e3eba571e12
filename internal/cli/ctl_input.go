package cli

import (
	"bufio"
	"context"
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// lineReader reads input lines in a goroutine so that a reader can give
// up on Ctrl-C (ctx) while a line is pending. The shell, fg and the
// y/N prompts share one, so no input is lost between them.
type lineReader struct {
	r     io.Reader
	once  sync.Once
	lines chan string
}

func newLineReader(r io.Reader) *lineReader { return &lineReader{r: r} }

// readLine returns the next line without its newline, io.EOF at the end
// of input, or ctx's error.
func (l *lineReader) readLine(ctx context.Context) (string, error) {
	l.once.Do(func() {
		l.lines = make(chan string)
		go l.loop()
	})
	select {
	case s, ok := <-l.lines:
		if !ok {
			return "", io.EOF
		}
		return s, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (l *lineReader) loop() {
	defer close(l.lines)
	br := bufio.NewReader(l.r)
	for {
		s, err := br.ReadString('\n')
		if s != "" {
			l.lines <- strings.TrimSuffix(s, "\n")
		}
		if err != nil {
			return
		}
	}
}

// noEcho turns off echo on the terminal f (if it is one) and returns the
// function that restores it.
func noEcho(f *os.File) func() {
	fd := int(f.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return func() {}
	}
	saved := *t
	t.Lflag &^= unix.ECHO
	if unix.IoctlSetTermios(fd, unix.TCSETS, t) != nil {
		return func() {}
	}
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, &saved) }
}
