package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/bcrypt"
)

// newHashPasswordCmd is `drover hash-password`: the bcrypt hash a
// [user:x] password= (or an inet listener's password=) can hold, so the
// config never holds the password itself.
func newHashPasswordCmd() *cobra.Command {
	var cost int
	cmd := &cobra.Command{
		Use:   "hash-password [--cost N]",
		Short: "Print the bcrypt hash of a password read from stdin, for password= in [user:x]",
		Long: `hash-password reads a password (on a terminal: typed twice, not echoed;
otherwise the first line of stdin) and prints its bcrypt hash, for
password= of a [user:x] section. The daemon checks a client's password
once (then remembers the match): the default cost 10 takes ~75 ms a check;
each step up doubles it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
				fmt.Fprintf(cmd.ErrOrStderr(), "drover hash-password: --cost %d: want %d to %d\n", cost, bcrypt.MinCost, bcrypt.MaxCost)
				return ExitCode(2)
			}
			pw, err := readNewPassword(os.Stdin, cmd.ErrOrStderr())
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "drover hash-password:", err)
				return ExitCode(1)
			}
			hash, err := bcrypt.GenerateFromPassword([]byte(pw), cost)
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "drover hash-password:", err)
				return ExitCode(1)
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(hash))
			return nil
		},
	}
	cmd.Flags().IntVar(&cost, "cost", bcrypt.DefaultCost, "bcrypt cost (4-31)")
	return cmd
}

// readNewPassword reads the password: from a terminal twice without echo,
// else the first line of in.
func readNewPassword(in *os.File, prompt io.Writer) (string, error) {
	tty := isTerminal(in)
	if tty {
		restore := noEcho(in)
		defer restore()
	}
	br := bufio.NewReader(in)
	line := func(ask string) (string, error) {
		if tty {
			fmt.Fprint(prompt, ask)
			defer fmt.Fprintln(prompt)
		}
		s, err := br.ReadString('\n')
		if err != nil && (err != io.EOF || s == "") {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		return strings.TrimRight(s, "\r\n"), nil
	}
	pw, err := line("Password: ")
	if err != nil {
		return "", err
	}
	if pw == "" {
		return "", fmt.Errorf("the password is empty")
	}
	if tty {
		again, err := line("Again: ")
		if err != nil {
			return "", err
		}
		if again != pw {
			return "", fmt.Errorf("the passwords differ")
		}
	}
	return pw, nil
}
