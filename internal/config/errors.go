package config

import (
	"errors"
	"fmt"
	"strings"
)

// Error is one problem in a config file. Load returns it (or an ErrorList of
// them); callers match it with errors.As.
type Error struct {
	Pos     Pos    // where; File is "" when the problem has no place (missing file)
	Section string // section name as written, "" when not in a section
	Option  string // option name (lower case), "" for a whole section
	Msg     string // what is wrong and what is accepted
	Err     error  // underlying cause, if any (e.g. *os.PathError)
}

// Error formats the problem as "file:line: [section] option: msg".
func (e *Error) Error() string {
	var b strings.Builder
	if e.Pos.File != "" {
		b.WriteString(e.Pos.File)
		if e.Pos.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Pos.Line)
		}
		b.WriteString(": ")
	}
	if e.Section != "" {
		fmt.Fprintf(&b, "[%s] ", e.Section)
	}
	if e.Option != "" {
		fmt.Fprintf(&b, "%s: ", e.Option)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorList is every error found in one Load, in file order. It is never
// empty when returned.
type ErrorList []*Error

// Error joins the errors one per line.
func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Unwrap exposes the individual errors to errors.Is/As.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// ErrPercentS is the cause of an Error for a bare "%s" (or %r/%a) in a
// value: supervisord expands it to every ENV_* variable; drover refuses.
var ErrPercentS = errors.New("bare %s would expand to every environment variable")

// ErrEnvTruncated is the cause of an Error for an environment= value that
// supervisord 4.2 would silently cut short.
var ErrEnvTruncated = errors.New("environment value would be silently truncated")

// String formats a warning like an error: "file:line: [section] option: msg".
func (w Warning) String() string {
	e := Error{Pos: w.Pos, Section: w.Section, Option: w.Option, Msg: w.Msg}
	return e.Error()
}

// errs collects errors and warnings during one Load.
type errs struct {
	list     ErrorList
	warnings []Warning
}

func (c *errs) add(pos Pos, section, option, format string, args ...any) {
	c.list = append(c.list, &Error{Pos: pos, Section: section, Option: option, Msg: fmt.Sprintf(format, args...)})
}

func (c *errs) addErr(pos Pos, section, option string, err error) {
	e := &Error{Pos: pos, Section: section, Option: option, Msg: err.Error(), Err: err}
	var ve *valueError
	if errors.As(err, &ve) {
		e.Err = ve.cause
	}
	c.list = append(c.list, e)
}

func (c *errs) warn(pos Pos, section, option, format string, args ...any) {
	c.warnings = append(c.warnings, Warning{Pos: pos, Section: section, Option: option, Msg: fmt.Sprintf(format, args...)})
}

// valueError is a value conversion failure, optionally with a sentinel cause.
type valueError struct {
	msg   string
	cause error
}

func (v *valueError) Error() string { return v.msg }
func (v *valueError) Unwrap() error { return v.cause }

func verr(format string, args ...any) error { return &valueError{msg: fmt.Sprintf(format, args...)} }
