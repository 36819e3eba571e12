// Command gendoc writes drover's man pages (roff, one per command) and its
// shell completion scripts from the cobra command tree, for `make deb`:
//
//	go run ./packaging/gendoc -man DIR -completions DIR [-date 2026-12-06]
//
// The pages are generated, not written by hand, so they never disagree
// with `drover VERB -h`.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/drover-sh/drover/internal/cli"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func main() {
	manDir := flag.String("man", "", "directory for the man pages (section 1)")
	compDir := flag.String("completions", "", "directory for drover.bash, _drover (zsh) and drover.fish")
	date := flag.String("date", "", "date on the pages (default: $SOURCE_DATE_EPOCH, else today)")
	flag.Parse()
	if err := run(*manDir, *compDir, pageDate(*date)); err != nil {
		fmt.Fprintln(os.Stderr, "gendoc:", err)
		os.Exit(1)
	}
}

// pageDate is the date printed on every page: reproducible builds set
// SOURCE_DATE_EPOCH.
func pageDate(flagged string) string {
	if flagged != "" {
		return flagged
	}
	t := time.Now()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		var sec int64
		if _, err := fmt.Sscan(s, &sec); err == nil {
			t = time.Unix(sec, 0)
		}
	}
	return t.UTC().Format("2006-01-02")
}

func run(manDir, compDir, date string) error {
	root := cli.NewRoot()
	if manDir != "" {
		if err := os.MkdirAll(manDir, 0o755); err != nil {
			return err
		}
		for _, c := range pages(root) {
			if err := os.WriteFile(filepath.Join(manDir, pageName(c)+".1"), manPage(c, date), 0o644); err != nil {
				return err
			}
		}
	}
	if compDir != "" {
		if err := os.MkdirAll(compDir, 0o755); err != nil {
			return err
		}
		var bash, zsh, fish bytes.Buffer
		if err := root.GenBashCompletionV2(&bash, true); err != nil {
			return err
		}
		if err := root.GenZshCompletion(&zsh); err != nil {
			return err
		}
		if err := root.GenFishCompletion(&fish, true); err != nil {
			return err
		}
		for name, b := range map[string][]byte{"drover.bash": bash.Bytes(), "_drover": zsh.Bytes(), "drover.fish": fish.Bytes()} {
			if err := os.WriteFile(filepath.Join(compDir, name), b, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// pages are the root and every visible command but help and completion
// (cobra's own; the root page names them).
func pages(root *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{root}
	for _, c := range root.Commands() {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		out = append(out, c)
	}
	return out
}

// pageName is "drover" or "drover-VERB".
func pageName(c *cobra.Command) string {
	return strings.ReplaceAll(c.CommandPath(), " ", "-")
}

// manPage renders c as a roff man page. The long help is kept as it is
// printed (.nf): its tab-aligned tables read the same in a terminal.
func manPage(c *cobra.Command, date string) []byte {
	var b bytes.Buffer
	name := pageName(c)
	fmt.Fprintf(&b, ".TH %q 1 %q %q %q\n", strings.ToUpper(name), date, "drover "+cli.Version, "drover manual")
	fmt.Fprintf(&b, ".SH NAME\n%s \\- %s\n", esc(name), esc(c.Short))
	b.WriteString(".SH SYNOPSIS\n")
	fmt.Fprintf(&b, ".B %s\n", esc(c.CommandPath()))
	if use := strings.TrimSpace(strings.TrimPrefix(c.Use, c.Name())); use != "" {
		fmt.Fprintf(&b, "%s\n", esc(use))
	} else if c.HasAvailableSubCommands() {
		b.WriteString("[command] [options]\n")
	}
	if long := c.Long; long != "" {
		b.WriteString(".SH DESCRIPTION\n.nf\n.ta 8n 16n 24n 32n 40n 48n 56n 64n\n")
		for _, l := range strings.Split(strings.TrimRight(long, "\n"), "\n") {
			b.WriteString(escLine(l) + "\n")
		}
		b.WriteString(".fi\n")
	}
	if c.HasAvailableLocalFlags() && !c.DisableFlagParsing {
		b.WriteString(".SH OPTIONS\n")
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Hidden {
				return
			}
			b.WriteString(".TP\n")
			if f.Shorthand != "" {
				fmt.Fprintf(&b, "\\fB\\-%s\\fR, ", f.Shorthand)
			}
			fmt.Fprintf(&b, "\\fB\\-\\-%s\\fR", esc(f.Name))
			if f.Value.Type() != "bool" {
				fmt.Fprintf(&b, " \\fI%s\\fR", strings.ToUpper(f.Value.Type()))
			}
			fmt.Fprintf(&b, "\n%s\n", esc(f.Usage))
		})
	}
	if c.HasAvailableSubCommands() {
		b.WriteString(".SH COMMANDS\n")
		for _, s := range c.Commands() {
			if !s.IsAvailableCommand() || s.Name() == "help" {
				continue
			}
			fmt.Fprintf(&b, ".TP\n\\fB%s\\fR\n%s\n", esc(s.Name()), esc(s.Short))
		}
	}
	b.WriteString(".SH SEE ALSO\n")
	var see []string
	if c.HasParent() {
		see = append(see, "drover(1)")
	} else {
		for _, s := range pages(c)[1:] {
			see = append(see, pageName(s)+"(1)")
		}
		sort.Strings(see)
	}
	see = append(see, "supervisord(1)", "supervisorctl(1)", "systemd.service(5)")
	fmt.Fprintf(&b, "%s\n", esc(strings.Join(see, ", ")))
	b.WriteString(".PP\nThe documentation in /usr/share/doc/drover (docs/ in the source).\n")
	return b.Bytes()
}

// esc escapes roff's specials in running text.
func esc(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	return escLead(s)
}

// escLine escapes a line of a .nf block; tabs stay (alignment).
func escLine(s string) string {
	return escLead(strings.ReplaceAll(s, `\`, `\e`))
}

// escLead keeps a leading . or ' from being read as a request.
func escLead(s string) string {
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		return `\&` + s
	}
	return s
}
