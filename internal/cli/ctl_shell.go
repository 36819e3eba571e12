package cli

import (
	"context"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strings"
)

// The interactive shell: supervisorctl's prompt loop without line
// editing (no new dependency). It runs status first, reads one command
// per line, keeps the history file if one is configured, and ends on
// EOF, quit, exit or Ctrl-C at the prompt. Ctrl-C during a command
// (tail -f, fg, a long stop) ends that command and returns to the prompt.

// shell runs the loop; the exit status of a shell session is always 0.
func (c *ctl) shell(ctx context.Context) {
	history := c.loadHistory()
	defer func() { c.saveHistory(history) }()
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, os.Interrupt)
	defer signal.Stop(sigc)

	c.interruptible(ctx, sigc, func(ctx context.Context) bool { return c.onecmd(ctx, "status") })
	for {
		c.out.WriteString(c.o.prompt + "> ")
		c.flush()
		var line string
		var err error
		c.interruptible(ctx, sigc, func(ctx context.Context) bool {
			line, err = c.in.readLine(ctx)
			return false
		})
		if err != nil { // end of input or Ctrl-C
			c.println("")
			c.flush()
			break
		}
		if strings.TrimSpace(line) != "" {
			history = append(history, line)
		}
		if c.interruptible(ctx, sigc, func(ctx context.Context) bool { return c.onecmd(ctx, line) }) {
			break
		}
	}
	c.exit = exitOK
}

// interruptible runs fn with a context that a SIGINT on sigc cancels.
func (c *ctl) interruptible(ctx context.Context, sigc <-chan os.Signal, fn func(context.Context) bool) bool {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigc:
			cancel()
		case <-done:
		}
	}()
	defer func() {
		close(done)
		cancel()
	}()
	return fn(ctx)
}

// onecmd runs one shell line and reports whether the shell should end.
func (c *ctl) onecmd(ctx context.Context, line string) bool {
	defer c.flush()
	line = strings.TrimSpace(line)
	if line == "" {
		return false
	}
	if line[0] == '?' {
		line = "help " + line[1:]
	}
	i := 0
	for i < len(line) && isIdentChar(line[i]) {
		i++
	}
	name, arg := line[:i], strings.TrimSpace(line[i:])
	switch name {
	case "help":
		c.help(arg)
		return false
	case "quit", "exit", "EOF":
		c.println("")
		return true
	case "open":
		c.open(ctx, arg)
		return false
	}
	v := findVerb(name)
	if v == nil {
		c.println("*** Unknown syntax: " + line)
		c.exit = exitGeneric
		return false
	}
	f, pos, err := parseVerbArgs(strings.Fields(arg), ctlFlags{}, false)
	switch {
	case err != nil:
		c.println("Error: " + err.Error())
		c.exit = exitGeneric
		return false
	case f.help:
		c.help(name)
		return false
	case f.json && !v.json:
		c.println("Error: " + name + " does not accept --json")
		c.exit = exitGeneric
		return false
	}
	saved := c.o.json
	c.o.json = f.json
	c.runVerb(ctx, v, pos)
	c.o.json = saved
	return false
}

func isIdentChar(b byte) bool {
	return b == '_' || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9')
}

// droverOnly are verbs supervisorctl does not have: they work in the
// shell and `help VERB` shows them, but the shell's command list stays
// supervisorctl's (`drover --help` lists them).
var droverOnly = map[string]bool{"events": true, "scale": true, "logrotate": true, "upgrade": true}

// shellOnly are the commands that exist only in the shell.
var shellOnly = map[string][]string{
	"help": {"help\t\tPrint a list of available actions", "help <action>\tPrint help for <action>"},
	"quit": {"quit\tExit the supervisor shell."},
	"exit": {"exit\tExit the supervisor shell."},
	"open": {"open <url>\tConnect to a remote supervisord process.", "\t\t(for UNIX domain socket, use unix:///socket/path)"},
}

// help prints the command list, or one command's help.
func (c *ctl) help(topic string) {
	topic = strings.TrimSpace(topic)
	if topic != "" {
		if lines, ok := shellOnly[topic]; ok {
			for _, l := range lines {
				c.println(l)
			}
			return
		}
		if findVerb(topic) == nil {
			c.println("*** No help on " + topic)
			return
		}
		c.usage(topic)
		return
	}
	var names []string
	for _, v := range ctlVerbs() {
		if !droverOnly[v.name] {
			names = append(names, v.name)
		}
	}
	for n := range shellOnly {
		if n != "help" { // supervisorctl does not list help itself
			names = append(names, n)
		}
	}
	sort.Strings(names)
	header := "default commands (type help <topic>):"
	c.println("")
	c.println(header)
	c.println(strings.Repeat("=", len(header)))
	for _, row := range columnize(names, 79) {
		c.println(row)
	}
	c.println("")
}

// columnize lays words out in as few rows as fit width, column by
// column, as Python's cmd module does.
func columnize(words []string, width int) []string {
	n := len(words)
	if n == 0 {
		return []string{"<empty>"}
	}
	nrows, ncols := n, 1
	widths := []int{0}
	for rows := 1; rows < n; rows++ {
		cols := (n + rows - 1) / rows
		ws := make([]int, 0, cols)
		total := -2
		for col := 0; col < cols; col++ {
			w := 0
			for row := 0; row < rows && row+rows*col < n; row++ {
				w = max(w, len(words[row+rows*col]))
			}
			ws = append(ws, w)
			total += w + 2
			if total > width {
				break
			}
		}
		if total <= width {
			nrows, ncols, widths = rows, cols, ws
			break
		}
	}
	out := make([]string, 0, nrows)
	for row := 0; row < nrows; row++ {
		var texts []string
		for col := 0; col < ncols; col++ {
			x := ""
			if i := row + nrows*col; i < n {
				x = words[i]
			}
			texts = append(texts, x)
		}
		for len(texts) > 0 && texts[len(texts)-1] == "" {
			texts = texts[:len(texts)-1]
		}
		for i := range texts {
			texts[i] += strings.Repeat(" ", max(0, widths[i]-len(texts[i])))
		}
		out = append(out, strings.Join(texts, "  "))
	}
	return out
}

// open switches to another server and shows its status; the exit status
// is left as it was.
func (c *ctl) open(ctx context.Context, arg string) {
	u, err := url.Parse(strings.TrimSpace(arg))
	if err != nil || (u.Scheme != "unix" && u.Scheme != "http") {
		c.println("ERROR: url must be http:// or unix://")
		c.exit = exitGeneric
		return
	}
	c.close()
	c.client = nil
	c.o.serverURL = strings.TrimSpace(arg)
	saved := c.exit
	c.runVerb(ctx, findVerb("status"), nil)
	c.exit = saved
}

// loadHistory reads the history file (one line per entry), if any.
func (c *ctl) loadHistory() []string {
	if c.o.historyFile == "" {
		return nil
	}
	b, err := os.ReadFile(c.o.historyFile)
	if err != nil {
		return nil
	}
	return strings.FieldsFunc(string(b), func(r rune) bool { return r == '\n' })
}

// saveHistory writes the history back; failures are ignored, as
// supervisorctl ignores them.
func (c *ctl) saveHistory(lines []string) {
	if c.o.historyFile == "" {
		return
	}
	text := strings.Join(lines, "\n")
	if text != "" {
		text += "\n"
	}
	_ = os.WriteFile(c.o.historyFile, []byte(text), 0o600)
}
